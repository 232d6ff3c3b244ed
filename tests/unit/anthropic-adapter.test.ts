// The Anthropic Messages adapter against real recorded provider responses: text, thinking, tool
// calls, stop reason and usage must come out exactly as the provider reported them, with usage
// normalized to our meaning (inputTokens includes prompt-cache reads and writes; Anthropic's
// input_tokens does not).

import assert from "node:assert/strict";
import {
  ANTHROPIC_VERSION,
  anthropicAdapter as adapter,
  LEADING_USER_PLACEHOLDER,
} from "../../supabase/functions/_shared/providers/anthropic/adapter.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import { ProviderError, type ProviderRequest } from "../../supabase/functions/_shared/providers/types.ts";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { chunkedStream, fixtureText, manifest, type ManifestEntry, sseBody } from "../support/fixtures.ts";

/** The Anthropic entries' extra fields (see the fixtures README and each entry's usageNotes). */
interface RawUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}
type AnthropicEntry = ManifestEntry & {
  usageNotes: string;
  usageDetails: { cacheReadInputTokens: number; cacheCreationInputTokens: number };
  providerUsageRaw: Record<string, RawUsage>;
};

const entries = manifest().filter((e) => e.wireFormat === "anthropic-messages") as AnthropicEntry[];
const SEEDS = [1, 7, 42, 99, 2024];

const MODEL: ChatModel = {
  id: "claude-sonnet-4.5",
  provider: "anthropic",
  vendor: "Anthropic",
  name: "Claude Sonnet 4.5",
  apiModel: "claude-sonnet-4-5-20250929",
  capabilities: ["chat"],
  contextWindow: 200_000,
  maxOutputTokens: 64_000,
  pricing: {
    unit: "tokens",
    inputPerMTok: "3",
    outputPerMTok: "15",
    source: "https://www.anthropic.com/pricing",
    asOf: "2025-10-01",
  },
  quality: {},
  tiers: ["free"],
};

function replay(body: string, seed = 7) {
  return collect(adapter.parseStream(chunkedStream(body, seed)));
}

/** SSE body of a list of event objects, `event:` line included, as Anthropic frames them. */
function sse(...events: object[]): string {
  return events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`).join(
    "",
  );
}

Deno.test("the manifest has Anthropic fixtures to replay (streams and a non-streamed body)", () => {
  assert.ok(entries.length >= 5, `found ${entries.length}`);
  assert.ok(entries.some((e) => !e.streaming));
  assert.ok(entries.some((e) => e.file.endsWith(".sse")));
  for (const e of entries) {
    // The expectations below rely on this reading of the numbers; fail loudly if it changes.
    assert.match(e.usageNotes, /excludes cache_read\/cache_creation tokens/);
  }
});

for (const entry of entries) {
  Deno.test(`replays ${entry.file}`, async () => {
    const results = entry.streaming
      ? await Promise.all(SEEDS.map((seed) => replay(sseBody(entry, { eventNames: true }), seed)))
      : [adapter.parseResponse(JSON.parse(fixtureText(entry)))];
    for (const got of results) {
      assert.equal(got.text, entry.expectedText);
      assert.equal(got.reasoning, entry.expectedReasoning);
      assert.deepEqual(got.toolCalls, entry.expectedToolCalls ?? []);
      assert.equal(got.finishReason, entry.finishReason);
      assert.deepEqual(got.citations, []);

      // Usage: the provider's raw numbers (final ones: message_delta, or the message body) ...
      const raw = entry.providerUsageRaw["message_delta.usage"] ?? entry.providerUsageRaw["message.usage"];
      assert.ok(raw, "the manifest gives the provider's final usage");
      assert.equal(raw.input_tokens, entry.expectedUsage!.inputTokens);
      assert.equal(raw.output_tokens, entry.expectedUsage!.outputTokens);
      assert.equal(raw.cache_read_input_tokens, entry.usageDetails.cacheReadInputTokens);
      assert.equal(raw.cache_creation_input_tokens, entry.usageDetails.cacheCreationInputTokens);
      // ... normalized: every input token in inputTokens, the cache parts as subsets of it.
      assert.deepEqual(got.usage, {
        inputTokens: raw.input_tokens + raw.cache_read_input_tokens + raw.cache_creation_input_tokens,
        outputTokens: raw.output_tokens,
        cachedInputTokens: raw.cache_read_input_tokens,
        cacheWriteInputTokens: raw.cache_creation_input_tokens,
      });
    }
    for (const r of results) assert.deepEqual(r, results[0], "same result however the network cuts it");

    const start = entry.providerUsageRaw["message_start.usage"];
    if (start && start.output_tokens !== entry.expectedUsage!.outputTokens) {
      assert.notEqual(results[0].usage!.outputTokens, start.output_tokens, "not message_start's placeholder");
    }
  });
}

Deno.test("a stream replays the same without `event:` lines (dispatch is on the JSON type)", async () => {
  for (const entry of entries.filter((e) => e.file.endsWith(".chunks.txt"))) {
    const withNames = await replay(sseBody(entry, { eventNames: true }));
    const without = await replay(sseBody(entry));
    assert.deepEqual(without, withNames, entry.file);
  }
});

Deno.test("cache reads and writes are added to input_tokens; thinking tokens reported", async () => {
  const events: object[] = [
    {
      type: "message_start",
      message: {
        id: "msg_1",
        type: "message",
        role: "assistant",
        content: [],
        usage: {
          input_tokens: 10,
          cache_creation_input_tokens: 300,
          cache_read_input_tokens: 2000,
          output_tokens: 1,
        },
      },
    },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } },
    { type: "content_block_stop", index: 0 },
    // Older API versions send only output_tokens here: the input counts stay message_start's.
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 50, output_tokens_details: { thinking_tokens: 20 } },
    },
    { type: "message_stop" },
  ];
  const got = await replay(sse(...events));
  assert.equal(got.text, "Hi");
  assert.deepEqual(got.usage, {
    inputTokens: 2310,
    outputTokens: 50,
    cachedInputTokens: 2000,
    cacheWriteInputTokens: 300,
    reasoningTokens: 20,
  });

  // Newer versions repeat the cumulative input counts in message_delta; those win.
  events[4] = {
    type: "message_delta",
    delta: { stop_reason: "max_tokens", stop_sequence: null },
    usage: {
      input_tokens: 12,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 2300,
      output_tokens: 7,
    },
  };
  const again = await replay(sse(...events));
  assert.equal(again.finishReason, "max_tokens");
  assert.deepEqual(again.usage, {
    inputTokens: 2312,
    outputTokens: 7,
    cachedInputTokens: 2300,
    cacheWriteInputTokens: 0,
  });

  const body = adapter.parseResponse({
    type: "message",
    content: [{ type: "text", text: "ok" }],
    stop_reason: "end_turn",
    usage: {
      input_tokens: 5,
      cache_creation_input_tokens: 1000,
      cache_read_input_tokens: null,
      output_tokens: 3,
    },
  });
  assert.deepEqual(body.usage, {
    inputTokens: 1005,
    outputTokens: 3,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 1000,
  });
});

Deno.test("usage is reported only from message_delta, never message_start's placeholder", async () => {
  const start = {
    type: "message_start",
    message: { usage: { input_tokens: 9, output_tokens: 1 } },
  };
  const events: object[] = [
    start,
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } },
  ];
  const seen: string[] = [];
  const err = await (async () => {
    for await (const e of adapter.parseStream(chunkedStream(sse(...events)))) seen.push(e.type);
  })().catch((e) => e);
  // The body ended without message_stop: a cut stream is an error, after the text it did carry.
  assert.ok(err instanceof ProviderError, String(err));
  assert.equal(err.kind, "error");
  assert.match(err.message, /before message_stop/);
  assert.deepEqual(seen, ["text"], "no usage event from message_start");
});

Deno.test("tool calls: ids and names from content_block_start, arguments joined, in order", async () => {
  const got = await replay(sse(
    { type: "message_start", message: { usage: { input_tokens: 100, output_tokens: 1 } } },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Checking." } },
    { type: "content_block_stop", index: 0 },
    {
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "toolu_A", name: "w", input: {} },
    },
    { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "" } },
    { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"city":' } },
    { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '"Paris"}' } },
    { type: "content_block_stop", index: 1 },
    {
      type: "content_block_start",
      index: 2,
      content_block: { type: "tool_use", id: "toolu_B", name: "t", input: {} },
    },
    { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "{}" } },
    { type: "content_block_stop", index: 2 },
    { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 30 } },
    { type: "message_stop" },
  ));
  assert.equal(got.text, "Checking.");
  assert.deepEqual(got.toolCalls, [
    { id: "toolu_A", name: "w", arguments: '{"city":"Paris"}' },
    { id: "toolu_B", name: "t", arguments: "{}" },
  ]);
  assert.equal(got.finishReason, "tool_use");
});

Deno.test('a tool call without arguments streams "{}", as the non-streamed answer gives', async () => {
  const start = { type: "message_start", message: { usage: { input_tokens: 50, output_tokens: 1 } } };
  const tool = (index: number, id: string) => ({
    type: "content_block_start",
    index,
    content_block: { type: "tool_use", id, name: "get_time", input: {} },
  });
  const end = [
    { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 12 } },
    { type: "message_stop" },
  ];
  const empty = { type: "input_json_delta", partial_json: "" };
  const got = await replay(sse(
    start,
    // One empty partial_json (what Anthropic streams), then none at all, then real arguments.
    tool(0, "toolu_A"),
    { type: "content_block_delta", index: 0, delta: empty },
    { type: "content_block_stop", index: 0 },
    tool(1, "toolu_B"),
    { type: "content_block_stop", index: 1 },
    tool(2, "toolu_C"),
    { type: "content_block_delta", index: 2, delta: empty },
    {
      type: "content_block_delta",
      index: 2,
      delta: { type: "input_json_delta", partial_json: '{"tz":"UTC"}' },
    },
    { type: "content_block_stop", index: 2 },
    ...end,
  ));
  assert.deepEqual(got.toolCalls.map((c) => c.arguments), ["{}", "{}", '{"tz":"UTC"}']);
  const whole = adapter.parseResponse({
    type: "message",
    content: [{ type: "tool_use", id: "toolu_A", name: "get_time", input: {} }],
    stop_reason: "tool_use",
  });
  assert.equal(whole.toolCalls[0].arguments, "{}");
});

Deno.test("citations from citations_delta and from a non-streamed body's text blocks", async () => {
  const cite = (url: string) => ({ type: "web_search_result_location", url, title: "t", cited_text: "x" });
  const got = await replay(sse(
    { type: "message_start", message: { usage: { input_tokens: 1, output_tokens: 1 } } },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "", citations: [] } },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "citations_delta", citation: cite("https://a") },
    },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "A" } },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "citations_delta", citation: cite("https://a") },
    },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "citations_delta", citation: cite("https://b") },
    },
    { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } },
    { type: "message_stop" },
  ));
  assert.deepEqual(got.citations, ["https://a", "https://b"]);
  const body = adapter.parseResponse({
    content: [
      { type: "thinking", thinking: "hmm", signature: "sig" },
      { type: "text", text: "A", citations: [cite("https://a")] },
      { type: "text", text: "B", citations: null },
      { type: "tool_use", id: "toolu_1", name: "f", input: { x: 1 } },
    ],
    stop_reason: "tool_use",
    usage: { input_tokens: 3, output_tokens: 4 },
  });
  assert.equal(body.text, "AB");
  assert.equal(body.reasoning, "hmm");
  assert.deepEqual(body.citations, ["https://a"]);
  assert.deepEqual(body.toolCalls, [{ id: "toolu_1", name: "f", arguments: '{"x":1}' }]);
  assert.deepEqual(body.usage, {
    inputTokens: 3,
    outputTokens: 4,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
  });
});

Deno.test("an `error` event is a ProviderError: overloaded_error → unavailable, others → error", async () => {
  const head = [
    { type: "message_start", message: { usage: { input_tokens: 1, output_tokens: 1 } } },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } },
  ];
  for (const [type, kind] of [["overloaded_error", "unavailable"], ["api_error", "error"]]) {
    const texts: string[] = [];
    const err = await (async () => {
      const body = sse(...head, { type: "error", error: { type, message: "key sk-ant-secret leaked" } });
      for await (const e of adapter.parseStream(chunkedStream(body))) {
        if (e.type === "text") texts.push(e.text);
      }
    })().catch((e) => e);
    assert.ok(err instanceof ProviderError, String(err));
    assert.equal(err.kind, kind);
    assert.match(err.message, new RegExp(type));
    assert.doesNotMatch(err.message, /secret/, "the provider's wording stays out of our errors");
    assert.deepEqual(texts, ["Hi"]);
  }
  await assert.rejects(replay("event: message_start\ndata: {not json\n\n"), /malformed JSON/);
  assert.throws(
    () =>
      adapter.parseResponse({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
    (e) => e instanceof ProviderError && e.kind === "unavailable",
  );
});

Deno.test("buildRequest: URL, headers, system, alternation, max_tokens, sampling, stop", () => {
  const req: ProviderRequest = {
    model: MODEL,
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "user", content: "Are you there?" },
      { role: "system", content: "Answer in French." },
      { role: "assistant", content: "Oui." },
      { role: "assistant", content: "   " },
      { role: "user", content: "Merci" },
    ],
    maxOutputTokens: 321,
    temperature: 0.5,
    stop: ["END", "\n\nHuman:"],
  };
  const { url, init } = adapter.buildRequest(req, { baseUrl: "http://127.0.0.1:1/", apiKey: "sk-k" }, true);
  assert.equal(url, "http://127.0.0.1:1/v1/messages");
  assert.equal(init.method, "POST");
  const headers = init.headers as Record<string, string>;
  assert.equal(headers["x-api-key"], "sk-k");
  assert.equal(headers["anthropic-version"], ANTHROPIC_VERSION);
  assert.equal(ANTHROPIC_VERSION, "2023-06-01");
  assert.equal(headers["content-type"], "application/json");
  assert.equal(headers.authorization, undefined, "Anthropic authenticates with x-api-key only");
  assert.deepEqual(JSON.parse(init.body as string), {
    model: "claude-sonnet-4-5-20250929",
    system: "Be brief.\n\nAnswer in French.",
    messages: [
      { role: "user", content: "Hi\n\nAre you there?" },
      { role: "assistant", content: "Oui." },
      { role: "user", content: "Merci" },
    ],
    max_tokens: 321,
    stream: true,
    temperature: 0.5,
    stop_sequences: ["END", "\n\nHuman:"],
  });

  const build = (r: Partial<ProviderRequest>, stream = false) =>
    JSON.parse(
      adapter.buildRequest(
        { model: MODEL, messages: [{ role: "user", content: "x" }], maxOutputTokens: 1, ...r },
        { baseUrl: "https://api.anthropic.com", apiKey: "k" },
        stream,
      ).init.body as string,
    );
  const plain = build({});
  assert.deepEqual(plain, {
    model: MODEL.apiModel,
    messages: [{ role: "user", content: "x" }],
    max_tokens: 1,
    stream: false,
  });
  assert.equal(
    adapter.buildRequest({ model: MODEL, messages: [], maxOutputTokens: 1 }, {
      baseUrl: "https://api.anthropic.com",
      apiKey: "k",
    }, false).url,
    "https://api.anthropic.com/v1/messages",
  );
  // Anthropic's temperature tops out at 1; ours goes to 2.
  assert.equal(build({ temperature: 1.7 }).temperature, 1);
  assert.equal(build({ topP: 0.9 }).top_p, 0.9);
  // Recent Claude models refuse temperature with top_p: temperature is kept.
  const both = build({ temperature: 0.2, topP: 0.9 });
  assert.equal(both.temperature, 0.2);
  assert.equal(both.top_p, undefined);
  assert.equal(build({ stop: [] }).stop_sequences, undefined);
  // The first turn must be the user's.
  assert.deepEqual(
    build({
      messages: [{ role: "system", content: "S" }, { role: "assistant", content: "Welcome!" }, {
        role: "user",
        content: "Hi",
      }],
    }).messages,
    [
      { role: "user", content: LEADING_USER_PLACEHOLDER },
      { role: "assistant", content: "Welcome!" },
      { role: "user", content: "Hi" },
    ],
  );
});
