// The Cohere v2 Chat adapter against real recorded Cohere responses: text, reasoning, tool calls,
// finish reason exactly as recorded, and usage as Cohere bills it (billed_units), next to what
// Cohere reported as processed (`tokens`), which the manifest's expectedUsage holds.

import assert from "node:assert/strict";
import { citationUrls, cohereAdapter } from "../../supabase/functions/_shared/providers/cohere/adapter.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import type { ProviderEvent } from "../../supabase/functions/_shared/providers/types.ts";
import { ProviderError } from "../../supabase/functions/_shared/providers/types.ts";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { chunkedStream, fixtureText, manifest, type ManifestEntry, sseBody } from "../support/fixtures.ts";

interface RawUsage {
  billed_units: { input_tokens: number; output_tokens: number };
  tokens: { input_tokens: number; output_tokens: number };
  cached_tokens?: number;
}

/** The Cohere entries carry more than the shared ManifestEntry type names. */
type CohereEntry = ManifestEntry & {
  usageNotes: string;
  usageDetails: { billedInputTokens: number; billedOutputTokens: number; cachedInputTokens?: number };
  providerUsageRaw: RawUsage;
  expectedToolPlan?: string;
};

const entries = manifest().filter((e) => e.wireFormat === "cohere-v2") as CohereEntry[];
const SEEDS = [1, 7, 42, 99, 1234];

/** A Cohere model for request-building tests (the catalog's Cohere entries are not relied on). */
const MODEL: ChatModel = {
  id: "command-r-plus",
  provider: "cohere",
  vendor: "Cohere",
  name: "Command R+",
  apiModel: "command-r-plus-08-2024",
  capabilities: ["chat", "tools"],
  contextWindow: 128_000,
  maxOutputTokens: 4_000,
  pricing: {
    unit: "tokens",
    inputPerMTok: "2.50",
    outputPerMTok: "10.00",
    source: "https://cohere.com/pricing",
    asOf: "2025-06-01",
  },
  quality: { general: 7 },
  tiers: ["pro"],
};

/** The usage block exactly as the fixture carries it (message-end delta, or the JSON body). */
function rawUsageOf(entry: CohereEntry): RawUsage {
  const text = fixtureText(entry);
  if (!entry.streaming) return JSON.parse(text).usage;
  const end = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)).find((e) =>
    e.type === "message-end"
  );
  return end.delta.usage;
}

Deno.test("the manifest has Cohere fixtures to replay: text, reasoning, tool calls, non-streamed", () => {
  assert.ok(entries.length >= 4, `found ${entries.length}`);
  assert.ok(entries.some((e) => !e.streaming));
  assert.ok(entries.some((e) => e.expectedReasoning));
  assert.ok(entries.some((e) => e.expectedToolCalls?.length));
});

for (const entry of entries) {
  Deno.test(`replays ${entry.file}`, async () => {
    const runs = entry.streaming
      ? await Promise.all([
        ...SEEDS.map((seed) =>
          collect(cohereAdapter.parseStream(chunkedStream(sseBody(entry, { eventNames: true }), seed)))
        ),
        // Without `event:` lines the JSON's own `type` is enough.
        collect(cohereAdapter.parseStream(chunkedStream(sseBody(entry)))),
      ])
      : [cohereAdapter.parseResponse(JSON.parse(fixtureText(entry)))];
    for (const got of runs) assert.deepEqual(got, runs[0], "same result however the network cuts it");
    const got = runs[0];

    assert.equal(got.text, entry.expectedText);
    assert.equal(got.reasoning, entry.expectedReasoning);
    assert.deepEqual(got.toolCalls, entry.expectedToolCalls ?? []);
    assert.equal(got.finishReason, entry.finishReason);
    assert.deepEqual(got.citations, []);

    // What Cohere reported, as the manifest records it: expectedUsage is `tokens` (processed,
    // prompt template included); billed_units and cached_tokens are in usageDetails.
    assert.match(entry.usageNotes, /expectedUsage = message-end delta\.usage\.tokens/);
    const raw = rawUsageOf(entry);
    assert.deepEqual(raw, entry.providerUsageRaw);
    assert.equal(raw.tokens.input_tokens, entry.expectedUsage!.inputTokens);
    assert.equal(raw.tokens.output_tokens, entry.expectedUsage!.outputTokens);
    assert.equal(raw.billed_units.input_tokens, entry.usageDetails.billedInputTokens);
    assert.equal(raw.billed_units.output_tokens, entry.usageDetails.billedOutputTokens);
    assert.equal(raw.cached_tokens, entry.usageDetails.cachedInputTokens);

    // What we bill: billed_units, exactly; never the larger `tokens` figures.
    assert.deepEqual(got.usage, {
      inputTokens: entry.usageDetails.billedInputTokens,
      outputTokens: entry.usageDetails.billedOutputTokens,
      cachedInputTokens: 0,
    });
    assert.notEqual(got.usage!.inputTokens, entry.expectedUsage!.inputTokens);
    assert.ok(got.usage!.inputTokens < raw.tokens.input_tokens);
  });
}

Deno.test("the tool plan is kept out of text and reasoning (the manifest's expectedReasoning is null)", async () => {
  const entry = entries.find((e) => e.expectedToolPlan)!;
  assert.ok(entry, "a fixture with a tool plan");
  assert.equal(entry.expectedReasoning, null, "if this changes, expose the tool plan as reasoning");
  const got = await collect(cohereAdapter.parseStream(chunkedStream(sseBody(entry, { eventNames: true }))));
  assert.equal(got.text, "");
  assert.equal(got.reasoning, null);
  assert.ok(!JSON.stringify(got).includes("cityAttractions tool to find"));
  assert.equal(got.finishReason, "TOOL_CALL");
});

Deno.test("the reasoning fixture streams thinking as reasoning events before the text", async () => {
  const entry = entries.find((e) => e.streaming && e.expectedReasoning)!;
  const events: ProviderEvent[] = [];
  for await (const e of cohereAdapter.parseStream(chunkedStream(sseBody(entry, { eventNames: true }), 3))) {
    events.push(e);
  }
  const firstText = events.findIndex((e) => e.type === "text");
  const lastReasoning = events.findLastIndex((e) => e.type === "reasoning");
  assert.ok(lastReasoning >= 0 && lastReasoning < firstText);
  // Usage, then the finish reason, close the stream.
  assert.deepEqual(events.slice(-2).map((e) => e.type), ["usage", "finish"]);
});

// ---------------------------------------------------------------------------------------------
// Requests

Deno.test("buildRequest: POST {base}/v2/chat with Bearer auth and Cohere's parameter names", () => {
  const { url, init } = cohereAdapter.buildRequest(
    {
      model: MODEL,
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }, {
        role: "assistant",
        content: "Hello",
      }, { role: "user", content: "Bye" }],
      maxOutputTokens: 321,
      temperature: 0.2,
      topP: 0.5,
      stop: ["\n\n", "END"],
    },
    { baseUrl: "https://api.cohere.com/", apiKey: "co-key" },
    true,
  );
  assert.equal(url, "https://api.cohere.com/v2/chat");
  assert.equal(init.method, "POST");
  const headers = init.headers as Record<string, string>;
  assert.equal(headers.authorization, "Bearer co-key");
  assert.equal(headers["content-type"], "application/json");
  assert.equal(headers.accept, "text/event-stream");
  assert.deepEqual(JSON.parse(init.body as string), {
    model: "command-r-plus-08-2024",
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "Bye" },
    ],
    stream: true,
    max_tokens: 321,
    temperature: 0.2,
    p: 0.5,
    stop_sequences: ["\n\n", "END"],
  });
});

Deno.test("buildRequest: non-streaming, optional fields left out, p clamped to Cohere's [0.01, 0.99]", () => {
  const build = (topP?: number) =>
    cohereAdapter.buildRequest(
      { model: MODEL, messages: [{ role: "user", content: "Hi" }], maxOutputTokens: 5, topP, stop: [] },
      { baseUrl: "http://127.0.0.1:55201", apiKey: "k" },
      false,
    );
  const plain = build();
  assert.equal(plain.url, "http://127.0.0.1:55201/v2/chat");
  assert.equal((plain.init.headers as Record<string, string>).accept, "application/json");
  assert.deepEqual(JSON.parse(plain.init.body as string), {
    model: "command-r-plus-08-2024",
    messages: [{ role: "user", content: "Hi" }],
    stream: false,
    max_tokens: 5,
  });
  assert.equal(JSON.parse(build(1).init.body as string).p, 0.99);
  assert.equal(JSON.parse(build(0).init.body as string).p, 0.01);
});

// ---------------------------------------------------------------------------------------------
// Streams beyond the fixtures

function sse(events: Record<string, unknown>[]): string {
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
}

const START = { id: "x", type: "message-start", delta: { message: { role: "assistant" } } };
const textStart = (index: number) => ({
  type: "content-start",
  index,
  delta: { message: { content: { type: "text", text: "" } } },
});
const textDelta = (index: number, text: string) => ({
  type: "content-delta",
  index,
  delta: { message: { content: { text } } },
});
const USAGE = {
  billed_units: { input_tokens: 4, output_tokens: 2 },
  tokens: { input_tokens: 90, output_tokens: 3 },
};

Deno.test("message-end with finish_reason ERROR: usage is reported first, then a provider error", async () => {
  const body = sse([START, textStart(0), textDelta(0, "Hel"), textDelta(0, "lo"), {
    type: "message-end",
    delta: { finish_reason: "ERROR", error: "internal error during generation", usage: USAGE },
  }]);
  const seen: ProviderEvent[] = [];
  const err = await (async () => {
    for await (const e of cohereAdapter.parseStream(chunkedStream(body))) seen.push(e);
  })().then(() => undefined, (e) => e);
  assert.ok(err instanceof ProviderError, String(err));
  assert.equal(err.kind, "error");
  assert.match(err.message, /ERROR.*internal error during generation/);
  assert.deepEqual(seen, [
    { type: "text", text: "Hel" },
    { type: "text", text: "lo" },
    { type: "usage", usage: { inputTokens: 4, outputTokens: 2, cachedInputTokens: 0 } },
  ]);

  const timeout = sse([START, { type: "message-end", delta: { finish_reason: "TIMEOUT", usage: USAGE } }]);
  const e2 = await collect(cohereAdapter.parseStream(chunkedStream(timeout))).catch((e) => e);
  assert.ok(e2 instanceof ProviderError && e2.kind === "timeout", String(e2));
});

Deno.test("a stream that ends before message-end is an error, not a silent success", async () => {
  const body = sse([START, textStart(0), textDelta(0, "Hel")]);
  await assert.rejects(
    collect(cohereAdapter.parseStream(chunkedStream(body))),
    (e) => e instanceof ProviderError && /before message-end/.test(e.message),
  );
  await assert.rejects(
    collect(cohereAdapter.parseStream(chunkedStream("event: message-start\ndata: {oops\n\n"))),
    {
      message: /malformed JSON/,
    },
  );
});

Deno.test("citations: source URLs (documents and tool outputs), in order, without duplicates", async () => {
  const citation = (index: number, sources: unknown[]) => ({
    type: "citation-start",
    index,
    delta: { message: { citations: { start: 0, end: 5, text: "Paris", sources, type: "TEXT_CONTENT" } } },
  });
  const body = sse([
    START,
    textStart(0),
    textDelta(0, "Paris"),
    citation(0, [
      {
        type: "document",
        id: "d1",
        document: { id: "d1", title: "Paris", url: "https://example.org/paris" },
      },
      { type: "document", id: "d2", document: { id: "d2", snippet: "no url here" } },
    ]),
    { type: "citation-end", index: 0 },
    citation(1, [
      { type: "tool", id: "t1", tool_output: { url: "https://example.com/search?q=paris" } },
      { type: "document", id: "d1", document: { url: "https://example.org/paris" } },
      { type: "document", id: "d3", document: { url: "javascript:alert(1)" } },
    ]),
    { type: "citation-end", index: 1 },
    { type: "content-end", index: 0 },
    { type: "message-end", delta: { finish_reason: "COMPLETE", usage: USAGE } },
  ]);
  const got = await collect(cohereAdapter.parseStream(chunkedStream(body, 5)));
  assert.equal(got.text, "Paris");
  assert.deepEqual(got.citations, ["https://example.org/paris", "https://example.com/search?q=paris"]);
  assert.deepEqual(citationUrls([]), []);
});

Deno.test("parseResponse: thinking, tool calls, tool plan and citations in a non-streamed answer", () => {
  const got = cohereAdapter.parseResponse({
    id: "r1",
    finish_reason: "TOOL_CALL",
    message: {
      role: "assistant",
      content: [{ type: "thinking", thinking: "Need the weather." }, { type: "text", text: "Checking." }],
      tool_plan: "I will use the weather tool.",
      tool_calls: [{
        id: "w_1",
        type: "function",
        function: { name: "weather", arguments: '{"city":"Paris"}' },
      }],
      citations: [{
        start: 0,
        end: 1,
        text: "C",
        sources: [{ type: "document", document: { url: "https://a.example/" } }],
      }],
    },
    usage: USAGE,
  });
  assert.deepEqual(got, {
    text: "Checking.",
    reasoning: "Need the weather.",
    toolCalls: [{ id: "w_1", name: "weather", arguments: '{"city":"Paris"}' }],
    citations: ["https://a.example/"],
    finishReason: "TOOL_CALL",
    usage: { inputTokens: 4, outputTokens: 2, cachedInputTokens: 0 },
  });
  // An answer without usage says so (null), it does not invent zeros.
  assert.equal(cohereAdapter.parseResponse({ message: { content: [] } }).usage, null);
});
