// The OpenAI-compatible providers' adapters (DeepSeek, Mistral, Perplexity, xAI, Groq; DashScope
// and local servers have no recordings) against real recorded provider responses: every
// MANIFEST entry of these providers is replayed through its provider's adapter, streams cut
// several ways, and text, reasoning, tool calls, finish reason, citations and usage must come out
// as the provider reported them, with usage as billed (see Usage in providers/types.ts).

import assert from "node:assert/strict";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import { newToolCallId } from "../../supabase/functions/_shared/chat/stream.ts";
import {
  type ChatMessage,
  type Completion,
  type ProviderAdapter,
  ProviderError,
  type ProviderEvent,
} from "../../supabase/functions/_shared/providers/types.ts";
import * as openai from "../../supabase/functions/_shared/providers/openai/adapter.ts";
import * as deepseek from "../../supabase/functions/_shared/providers/deepseek/adapter.ts";
import * as mistral from "../../supabase/functions/_shared/providers/mistral/adapter.ts";
import * as perplexity from "../../supabase/functions/_shared/providers/perplexity/adapter.ts";
import * as xai from "../../supabase/functions/_shared/providers/xai/adapter.ts";
import * as groq from "../../supabase/functions/_shared/providers/groq/adapter.ts";
import * as dashscope from "../../supabase/functions/_shared/providers/dashscope/adapter.ts";
import * as local from "../../supabase/functions/_shared/providers/local/adapter.ts";
import { chunkedStream, fixtureText, manifest, type ManifestEntry, sseBody } from "../support/fixtures.ts";

const REPLAYED: Record<string, ProviderAdapter> = {
  deepseek: deepseek.deepseekAdapter,
  mistral: mistral.mistralAdapter,
  perplexity: perplexity.perplexityAdapter,
  xai: xai.xaiAdapter,
  groq: groq.groqAdapter,
};

/** The manifest fields these tests read beyond the shared ManifestEntry. */
interface RawUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  prompt_cache_hit_tokens?: number;
  cost_in_usd_ticks?: number;
}
type Entry = ManifestEntry & {
  usageNotes: string;
  providerUsageRaw: RawUsage | null;
  notes?: string;
  endsWithDone?: boolean;
  expectedStreamError?: { error: { message: string; code?: string } }[];
};

const entries = manifest().filter((e) => e.provider in REPLAYED) as Entry[];
const SEEDS = [1, 7, 42, 1234];

Deno.test("the manifest has recordings of every OpenAI-compatible provider replayed here", () => {
  for (const provider of Object.keys(REPLAYED)) {
    assert.ok(entries.some((e) => e.provider === provider), `no fixture for ${provider}`);
  }
  assert.ok(entries.length >= 18, `found ${entries.length}`);
});

async function events(adapter: ProviderAdapter, body: ReadableStream<Uint8Array>): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = [];
  for await (const e of adapter.parseStream(body)) out.push(e);
  return out;
}

async function* replay(list: ProviderEvent[]): AsyncIterable<ProviderEvent> {
  yield* list;
}

/**
 * Replays of one stream fixture: cut at random places with several seeds; .chunks.txt files
 * (SSE framing stripped upstream) both with and without a closing `data: [DONE]` (real Perplexity
 * sonar streams end without one).
 */
function streamBodies(entry: Entry): { label: string; body: () => ReadableStream<Uint8Array> }[] {
  const variants = entry.file.endsWith(".sse")
    ? [{ tag: "verbatim", text: sseBody(entry) }]
    : [{ tag: "[DONE]", text: sseBody(entry, { done: true }) }, { tag: "no [DONE]", text: sseBody(entry) }];
  return variants.flatMap((v) =>
    SEEDS.map((seed) => ({ label: `${v.tag}, seed ${seed}`, body: () => chunkedStream(v.text, seed) }))
  );
}

/** The URL lists the recording itself carries (top-level citations / search_results), in order. */
function recordedCitations(entry: Entry): string[] {
  const bodies: { citations?: string[]; search_results?: { url: string }[] }[] = [];
  const text = fixtureText(entry);
  if (!entry.streaming) bodies.push(JSON.parse(text));
  else {
    for (const line of text.split("\n")) {
      const data = line.startsWith("data: ") ? line.slice(6) : line.trim().startsWith("{") ? line : "";
      if (data && data !== "[DONE]") bodies.push(JSON.parse(data));
    }
  }
  const urls: string[] = [];
  for (const b of bodies) {
    for (const u of [...(b.citations ?? []), ...(b.search_results ?? []).map((r) => r.url)]) {
      if (!urls.includes(u)) urls.push(u);
    }
  }
  return urls;
}

function checkCompletion(entry: Entry, got: Completion, where: string): void {
  assert.equal(got.text, entry.expectedText, `text (${where})`);
  assert.equal(got.reasoning, entry.expectedReasoning, `reasoning (${where})`);
  assert.deepEqual(got.toolCalls, entry.expectedToolCalls ?? [], `tool calls (${where})`);
  assert.equal(got.finishReason, entry.finishReason, `finish reason (${where})`);
  const citable = entry.provider === "perplexity" || entry.provider === "xai";
  assert.deepEqual(got.citations, citable ? recordedCitations(entry) : [], `citations (${where})`);

  const raw = entry.providerUsageRaw!;
  const expected = entry.expectedUsage!;
  assert.ok(got.usage, `usage reported (${where})`);
  assert.equal(got.usage.inputTokens, expected.inputTokens, `input tokens (${where})`);
  assert.equal(got.usage.inputTokens, raw.prompt_tokens);
  const reasoning = raw.completion_tokens_details?.reasoning_tokens ?? 0;
  if (entry.provider === "xai") {
    // xAI: completion_tokens leaves the reasoning tokens out, and xAI bills them as output.
    assert.ok(reasoning > 0, "the xAI recordings reason");
    assert.equal(got.usage.outputTokens, raw.completion_tokens + reasoning, `billed output (${where})`);
    assert.notEqual(got.usage.outputTokens, expected.outputTokens, "not the raw completion_tokens");
  } else {
    // Everyone else: completion_tokens already counts any reasoning.
    assert.equal(got.usage.outputTokens, raw.completion_tokens, `billed output (${where})`);
    assert.equal(got.usage.outputTokens, expected.outputTokens);
  }
  assert.equal(
    got.usage.reasoningTokens,
    entry.usageDetails?.reasoningTokens ?? 0,
    `reasoning tokens (${where})`,
  );
  assert.equal(got.usage.reasoningTokens, reasoning);
  assert.equal(got.usage.cachedInputTokens, entry.usageDetails?.cachedInputTokens ?? 0, `cached (${where})`);
}

for (const entry of entries) {
  const adapter = REPLAYED[entry.provider];

  if (entry.expectedStreamError) {
    Deno.test(`replays ${entry.file}: the error inside the stream is a provider error`, async () => {
      for (const { label, body } of streamBodies(entry)) {
        const seen: ProviderEvent[] = [];
        const err = await (async () => {
          for await (const e of adapter.parseStream(body())) seen.push(e);
        })().then(() => undefined, (e) => e);
        assert.ok(err instanceof ProviderError, `${label}: ${err}`);
        assert.equal(err.message, entry.expectedStreamError![0].error.message);
        // What came before the error is still read exactly; no finish, no usage.
        const before = await collect(replay(seen));
        assert.equal(before.reasoning, entry.expectedReasoning);
        assert.equal(before.text, entry.expectedText);
        assert.equal(before.finishReason, null);
        assert.equal(before.usage, null);
      }
    });
    continue;
  }

  Deno.test(`replays ${entry.file}`, async () => {
    if (!entry.streaming) {
      checkCompletion(entry, adapter.parseResponse(JSON.parse(fixtureText(entry))), "json");
      return;
    }
    let first: Completion | undefined;
    for (const { label, body } of streamBodies(entry)) {
      const got = await collect(adapter.parseStream(body()));
      checkCompletion(entry, got, label);
      first ??= got;
      assert.deepEqual(got, first, `${label}: same result however the stream is cut`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Provider specifics, each against its recordings

function entry(file: string): Entry {
  const e = entries.find((x) => x.file === file);
  assert.ok(e, `fixture ${file} in the manifest`);
  return e;
}

/** A .chunks.txt recording with each chunk passed through `edit`, re-framed as SSE. */
function editedStream(file: string, edit: (chunk: Record<string, unknown>) => void): string {
  return fixtureText(entry(file)).split("\n").filter((l) => l.trim()).map((line) => {
    const chunk = JSON.parse(line);
    edit(chunk);
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }).join("") + "data: [DONE]\n\n";
}

Deno.test("xAI: billed output matches the cost xAI itself charged (cost_in_usd_ticks)", async () => {
  // grok-3-mini list prices (https://docs.x.ai/docs/models): $0.30 input, $0.075 cached input,
  // $0.50 output per 1M tokens. 1 tick = 1e-10 USD, so per token: 3000, 750 and 5000 ticks.
  const ticks = (u: { inputTokens: number; cachedInputTokens?: number; outputTokens: number }) =>
    (u.inputTokens - (u.cachedInputTokens ?? 0)) * 3000 + (u.cachedInputTokens ?? 0) * 750 +
    u.outputTokens * 5000;
  const xaiEntries = entries.filter((e) => e.provider === "xai");
  assert.equal(xaiEntries.length, 3);
  for (const e of xaiEntries) {
    const got = e.streaming
      ? await collect(xai.xaiAdapter.parseStream(chunkedStream(sseBody(e, { done: true }))))
      : xai.xaiAdapter.parseResponse(JSON.parse(fixtureText(e)));
    assert.equal(ticks(got.usage!), e.providerUsageRaw!.cost_in_usd_ticks, e.file);
    // Counting completion_tokens alone would under-bill.
    assert.ok(
      ticks({ ...got.usage!, outputTokens: e.providerUsageRaw!.completion_tokens }) < ticks(got.usage!),
    );
  }
});

Deno.test("the plain OpenAI reading would under-bill xAI; the xAI flavor does not change OpenAI", async () => {
  const e = entry("xai/chat-reasoning-text.chunks.txt");
  const asOpenAI = await collect(
    openai.openaiAdapter().parseStream(chunkedStream(sseBody(e, { done: true }))),
  );
  assert.equal(asOpenAI.usage?.outputTokens, 2);
  const asXai = await collect(xai.xaiAdapter.parseStream(chunkedStream(sseBody(e, { done: true }))));
  assert.equal(asXai.usage?.outputTokens, 342);
});

Deno.test("DeepSeek: cache hits are read from prompt_cache_hit_tokens, its own field", async () => {
  const file = "deepseek/chat-reasoning-tool-call.chunks.txt";
  const onlyOwnField = editedStream(file, (c) => {
    const u = c.usage as Record<string, unknown> | null;
    if (u) delete u.prompt_tokens_details;
  });
  const got = await collect(deepseek.deepseekAdapter.parseStream(chunkedStream(onlyOwnField, 3)));
  assert.equal(got.usage?.cachedInputTokens, 320);
  assert.equal(got.usage?.inputTokens, 339, "prompt_tokens = hit 320 + miss 19");
  assert.equal(got.usage?.reasoningTokens, 39);
  assert.equal(got.usage?.outputTokens, 83, "completion_tokens already include the 39 reasoning tokens");
});

Deno.test("Groq: usage is read from x_groq.usage (older streams) and reported once", async () => {
  const file = "groq/chat-tool-call.chunks.txt";
  const both = await events(groq.groqAdapter, chunkedStream(sseBody(entry(file), { done: true }), 5));
  assert.equal(both.filter((e) => e.type === "usage").length, 1, "usage and x_groq.usage: one event");
  const older = editedStream(file, (c) => delete c.usage);
  const got = await collect(groq.groqAdapter.parseStream(chunkedStream(older, 5)));
  assert.deepEqual(got.usage, {
    inputTokens: 210,
    outputTokens: 15,
    cachedInputTokens: 0,
    reasoningTokens: 0,
  });
});

Deno.test("Perplexity: sources once, running usage totals reported only when they change", async () => {
  const e = entry("perplexity/chat-citations.chunks.txt");
  const list = await events(perplexity.perplexityAdapter, chunkedStream(sseBody(e), 11));
  const cites = list.filter((x) => x.type === "citations");
  assert.equal(cites.length, 1, "every chunk repeats the same 7 URLs");
  assert.equal(cites[0].type === "citations" && cites[0].urls.length, 7);
  const usage = list.flatMap((x) => x.type === "usage" ? [x.usage.outputTokens] : []);
  // 8 chunks recorded (truncated upstream), the last two with the same total.
  assert.deepEqual(usage, [1, 2, 3, 4, 5, 333, 336]);
  const json = perplexity.perplexityAdapter.parseResponse(
    JSON.parse(fixtureText(entry("perplexity/chat-citations.json"))),
  );
  assert.equal(json.citations.length, 7);
  assert.equal(json.citations[0], "https://populationstat.com/united-states/san-francisco");
});

Deno.test("Perplexity: search_results URLs count as sources too", () => {
  const got = perplexity.perplexityAdapter.parseResponse({
    choices: [{ message: { content: "x [1][2]" }, finish_reason: "stop" }],
    citations: ["https://a.example/1"],
    search_results: [{ title: "A", url: "https://a.example/1" }, { title: "B", url: "https://b.example/2" }],
    usage: { prompt_tokens: 1, completion_tokens: 2 },
  });
  assert.deepEqual(got.citations, ["https://a.example/1", "https://b.example/2"]);
});

Deno.test("Mistral: thinking chunks are reasoning, and completion_tokens counts them", async () => {
  const e = entry("mistral/chat-thinking.sse");
  const list = await events(mistral.mistralAdapter, chunkedStream(sseBody(e), 9));
  const firstText = list.findIndex((x) => x.type === "text");
  assert.ok(list.slice(0, firstText).some((x) => x.type === "reasoning"), "thinking comes first");
  // Read without the typed-chunk flavor, the array content would be lost, never garbled.
  const plain = await collect(
    openai.openaiAdapter({ ...openai.openaiFlavor, maxTokensParam: "max_tokens" }).parseStream(
      chunkedStream(sseBody(e), 9),
    ),
  );
  assert.equal(plain.reasoning, null);
  assert.equal(plain.text, e.expectedText);
  // Non-streaming magistral answers: content as an array of typed chunks.
  const got = mistral.mistralAdapter.parseResponse({
    choices: [{
      message: {
        role: "assistant",
        content: [
          { type: "thinking", thinking: [{ type: "text", text: "Let me think." }] },
          { type: "text", text: "Answer." },
        ],
      },
      finish_reason: "stop",
    }],
    usage: { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17 },
  });
  assert.equal(got.reasoning, "Let me think.");
  assert.equal(got.text, "Answer.");
  assert.equal(got.usage?.outputTokens, 7);
});

Deno.test("Mistral: an incremental tool call (id and name first, then arguments) is joined", async () => {
  // Caveat (manifest notes): recorded against model zai-glm-5-2 on a Mistral-wire endpoint.
  const e = entry("mistral/chat-incremental-tool-call.chunks.txt");
  const list = await events(mistral.mistralAdapter, chunkedStream(sseBody(e, { done: true }), 2));
  const calls = list.filter((x) => x.type === "tool_call");
  assert.equal(calls.length, 2);
  assert.deepEqual((await collect(replay(list))).toolCalls, e.expectedToolCalls);
});

Deno.test("DashScope-shaped stream: reasoning_content, then a choices:[] usage chunk with cache hits", async () => {
  // Hand-written in the shape DashScope's compatible mode documents (no recording exists).
  const chunk = (o: object) =>
    `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", ...o })}\n\n`;
  const body = [
    chunk({
      choices: [{
        index: 0,
        delta: { role: "assistant", content: null, reasoning_content: "Think" },
        finish_reason: null,
      }],
    }),
    chunk({
      choices: [{ index: 0, delta: { content: "Hi", reasoning_content: null }, finish_reason: null }],
    }),
    chunk({ choices: [{ index: 0, delta: { content: "" }, finish_reason: "stop" }] }),
    chunk({
      choices: [],
      usage: {
        prompt_tokens: 20,
        completion_tokens: 12,
        total_tokens: 32,
        prompt_tokens_details: { cached_tokens: 16 },
        completion_tokens_details: { reasoning_tokens: 10 },
      },
    }),
    "data: [DONE]\n\n",
  ].join("");
  const got = await collect(dashscope.dashscopeAdapter.parseStream(chunkedStream(body, 4)));
  assert.equal(got.reasoning, "Think");
  assert.equal(got.text, "Hi");
  assert.deepEqual(got.usage, {
    inputTokens: 20,
    outputTokens: 12,
    cachedInputTokens: 16,
    reasoningTokens: 10,
  });
});

Deno.test("local server without usage: no usage event at all (the pipeline estimates)", async () => {
  const body = [
    `data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"Hm."}}]}\n\n`,
    `data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n`,
    `data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`,
    "data: [DONE]\n\n",
  ].join("");
  const list = await events(local.localAdapter, chunkedStream(body, 6));
  assert.equal(list.filter((e) => e.type === "usage").length, 0);
  const got = await collect(replay(list));
  assert.equal(got.text, "Hello");
  assert.equal(got.reasoning, "Hm.");
  assert.equal(got.usage, null);
  assert.equal(local.localAdapter.parseResponse({ choices: [{ message: { content: "x" } }] }).usage, null);
});

Deno.test("<think> opening the content is reasoning, however the deltas cut the tags", async () => {
  const answer = "<think>\nThe user asks 2+2. That is 4.\n</think>\n\nIt is **4** [1].";
  // Every way of cutting the answer into two or three deltas.
  for (let i = 1; i < answer.length; i += 3) {
    for (const j of [i + 1, i + 7, answer.length]) {
      const parts = [answer.slice(0, i), answer.slice(i, j), answer.slice(j)].filter(Boolean);
      const body = parts.map((content) =>
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant", content } }] })}\n\n`
      ).join("") +
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`;
      const got = await collect(perplexity.perplexityAdapter.parseStream(chunkedStream(body, i)));
      assert.equal(got.reasoning, "\nThe user asks 2+2. That is 4.\n", `cut at ${i}/${j}`);
      assert.equal(got.text, "It is **4** [1].", `cut at ${i}/${j}`);
    }
  }
  const json = perplexity.perplexityAdapter.parseResponse({
    choices: [{ message: { content: answer }, finish_reason: "stop" }],
    usage: { prompt_tokens: 5, completion_tokens: 20, reasoning_tokens: 12 },
  });
  assert.equal(json.text, "It is **4** [1].");
  assert.equal(json.reasoning, "\nThe user asks 2+2. That is 4.\n");
  // Perplexity's top-level reasoning_tokens: part of completion_tokens, not on top.
  assert.deepEqual(json.usage, {
    inputTokens: 5,
    outputTokens: 20,
    cachedInputTokens: 0,
    reasoningTokens: 12,
  });

  // Only a block at the very start counts; an unfinished one is reasoning to the end.
  const mid = local.localAdapter.parseResponse({ choices: [{ message: { content: "Use <think> tags." } }] });
  assert.equal(mid.text, "Use <think> tags.");
  assert.equal(mid.reasoning, null);
  const stop = `data: {"choices":[{"delta":{},"finish_reason":"length"}]}\n\n`;
  const short = await collect(groq.groqAdapter.parseStream(chunkedStream(
    `data: {"choices":[{"delta":{"content":"<thi"}}]}\n\ndata: {"choices":[{"delta":{"content":"nk>cut off"}}]}\n\n${stop}`,
  )));
  assert.equal(short.reasoning, "cut off");
  assert.equal(short.text, "");
  const tiny = await collect(
    groq.groqAdapter.parseStream(chunkedStream(`data: {"choices":[{"delta":{"content":"<"}}]}\n\n${stop}`)),
  );
  assert.equal(tiny.text, "<");
  // Providers without the flag leave the content alone.
  const ds = deepseek.deepseekAdapter.parseResponse({
    choices: [{ message: { content: "<think>x</think>y" } }],
  });
  assert.equal(ds.text, "<think>x</think>y");
});

Deno.test("a chunk whose tool call has no index takes its position", async () => {
  const body =
    `data: {"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}},{"id":"b","function":{"name":"g","arguments":"[]"}}]},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n`;
  const got = await collect(mistral.mistralAdapter.parseStream(chunkedStream(body)));
  assert.deepEqual(got.toolCalls, [{ id: "a", name: "f", arguments: "{}" }, {
    id: "b",
    name: "g",
    arguments: "[]",
  }]);
});

Deno.test("tool calls without index, one whole call per chunk, stay apart; pieces without id join the current call", async () => {
  const chunk = (calls: unknown[], finish: string | null = null) =>
    `data: ${
      JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: calls }, finish_reason: finish }] })
    }\n\n`;
  // As some local servers stream them: each call complete in its own chunk, no index.
  const whole = chunk([{ id: "call_1", type: "function", function: { name: "get_time", arguments: "{}" } }]) +
    chunk([{
      id: "call_2",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
    }]) +
    chunk([], "tool_calls") + "data: [DONE]\n\n";
  const got = await collect(local.localAdapter.parseStream(chunkedStream(whole, 3)));
  assert.deepEqual(got.toolCalls, [
    { id: "call_1", name: "get_time", arguments: "{}" },
    { id: "call_2", name: "get_weather", arguments: '{"city":"Oslo"}' },
  ]);
  // A call in pieces without index: its id first, then argument pieces without id; then another.
  const pieces = chunk([{ id: "a", function: { name: "f", arguments: "" } }]) +
    chunk([{ function: { arguments: '{"x":' } }]) + chunk([{ function: { arguments: "1}" } }]) +
    chunk([{ id: "a", function: { arguments: "" } }]) +
    chunk([{ id: "b", function: { name: "g", arguments: "{}" } }], "tool_calls");
  const joined = await collect(local.localAdapter.parseStream(chunkedStream(pieces, 4)));
  assert.deepEqual(joined.toolCalls, [
    { id: "a", name: "f", arguments: '{"x":1}' },
    { id: "b", name: "g", arguments: "{}" },
  ]);
  // Whole calls with neither index nor id, two to a chunk: each name starts a call.
  const anonymous =
    chunk([{ function: { name: "f", arguments: "{}" } }, { function: { name: "g", arguments: "[]" } }]) +
    chunk([{ function: { name: "h", arguments: "{}" } }], "tool_calls");
  const apart = await collect(local.localAdapter.parseStream(chunkedStream(anonymous, 2)));
  assert.deepEqual(
    apart.toolCalls.map((c: { name: string; arguments: string }) => `${c.name} ${c.arguments}`),
    [
      "f {}",
      "g []",
      "h {}",
    ],
  );
});

/** A recorded stream's chunks (the JSON of each data: line, [DONE] left out), in order. */
function recordedChunks(entry: ManifestEntry): Record<string, unknown>[] {
  return fixtureText(entry).split(/\r?\n/).flatMap((line) => {
    const data = entry.file.endsWith(".sse") ? (line.startsWith("data: ") ? line.slice(6) : "") : line.trim();
    return data && data !== "[DONE]" ? [JSON.parse(data)] : [];
  });
}

Deno.test("a stream that ends cleanly before its finish_reason is a provider error, [DONE] or not", async () => {
  // Every recorded OpenAI-format stream, cut cleanly just before the chunk with its finish reason.
  const streams = manifest().filter((e) => e.wireFormat === "openai-chat" && e.streaming && e.finishReason);
  assert.ok(streams.length >= 15, `found ${streams.length}`);
  for (const e of streams) {
    const adapter = REPLAYED[e.provider] ?? openai.openaiAdapter();
    const chunks = recordedChunks(e);
    const at = chunks.findIndex((c) =>
      (c.choices as { finish_reason?: string | null }[] | undefined)?.[0]?.finish_reason
    );
    assert.ok(at > 0, `${e.file}: a finish reason after some output`);
    const before = chunks.slice(0, at).map((c) => `data: ${JSON.stringify(c)}\n\n`).join("");
    for (const body of [before, before + "data: [DONE]\n\n"]) {
      const seen: ProviderEvent[] = [];
      const err = await (async () => {
        for await (const x of adapter.parseStream(chunkedStream(body, 5))) seen.push(x);
      })().then(() => undefined, (x) => x);
      assert.ok(err instanceof ProviderError, `${e.file}: ${err}`);
      assert.equal(err.kind, "error");
      assert.ok(!seen.some((x) => x.type === "finish"), e.file);
      assert.ok(
        seen.some((x) => x.type !== "usage" && x.type !== "citations"),
        `${e.file}: its output was read`,
      );
    }
  }
});

Deno.test("more cache hits than prompt tokens: input counts both (cached stays a subset)", () => {
  const u = openai.normalizeUsage({
    prompt_tokens: 5,
    completion_tokens: 1,
    prompt_tokens_details: { cached_tokens: 100 },
  });
  assert.equal(u.inputTokens, 105);
  assert.equal(u.cachedInputTokens, 100);
});

// ---------------------------------------------------------------------------------------------
// Requests

function chatModel(provider: string, apiModel: string): ChatModel {
  return {
    id: `${provider}-test`,
    provider,
    vendor: provider,
    name: apiModel,
    apiModel,
    capabilities: ["chat"],
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    pricing: {
      unit: "tokens",
      inputPerMTok: "1",
      outputPerMTok: "2",
      source: "https://example.com",
      asOf: "2025-01-01",
    },
    quality: {},
    tiers: ["free"],
  };
}

const REQUESTS = [
  {
    name: "openai",
    adapter: openai.openaiAdapter(),
    baseUrl: openai.defaultBaseUrl,
    url: "https://api.openai.com/v1/chat/completions",
    model: "gpt-4o-mini",
    maxParam: "max_completion_tokens",
    includeUsage: true,
  },
  {
    name: "deepseek",
    adapter: deepseek.deepseekAdapter,
    baseUrl: deepseek.defaultBaseUrl,
    url: "https://api.deepseek.com/chat/completions",
    model: "deepseek-reasoner",
    maxParam: "max_tokens",
    includeUsage: true,
  },
  {
    name: "mistral",
    adapter: mistral.mistralAdapter,
    baseUrl: mistral.defaultBaseUrl,
    url: "https://api.mistral.ai/v1/chat/completions",
    model: "mistral-large-latest",
    maxParam: "max_tokens",
    includeUsage: false,
  },
  {
    name: "perplexity",
    adapter: perplexity.perplexityAdapter,
    baseUrl: perplexity.defaultBaseUrl,
    url: "https://api.perplexity.ai/chat/completions",
    model: "sonar",
    maxParam: "max_tokens",
    includeUsage: false,
  },
  {
    name: "xai",
    adapter: xai.xaiAdapter,
    baseUrl: xai.defaultBaseUrl,
    url: "https://api.x.ai/v1/chat/completions",
    model: "grok-3-mini",
    maxParam: "max_tokens",
    includeUsage: true,
  },
  {
    name: "groq",
    adapter: groq.groqAdapter,
    baseUrl: groq.defaultBaseUrl,
    url: "https://api.groq.com/openai/v1/chat/completions",
    model: "llama-3.3-70b-versatile",
    maxParam: "max_completion_tokens",
    includeUsage: true,
  },
  {
    name: "dashscope",
    adapter: dashscope.dashscopeAdapter,
    baseUrl: dashscope.defaultBaseUrl,
    url: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
    model: "qwen-plus",
    maxParam: "max_tokens",
    includeUsage: true,
  },
  {
    name: "local",
    adapter: local.localAdapter,
    baseUrl: local.defaultBaseUrl,
    url: "http://127.0.0.1:11434/v1/chat/completions",
    model: "llama3.2",
    maxParam: "max_tokens",
    includeUsage: true,
  },
] as const;

for (const r of REQUESTS) {
  Deno.test(`${r.name}: request URL, output budget parameter, usage option`, () => {
    const model = chatModel(r.name, r.model);
    const req = {
      model,
      messages: [{ role: "user" as const, content: "Hi" }],
      maxOutputTokens: 321,
      temperature: 0.5,
      stop: ["\n\n"],
    };
    const streamed = r.adapter.buildRequest(req, { baseUrl: r.baseUrl, apiKey: "k" }, true);
    assert.equal(streamed.url, r.url);
    // A trailing slash on a configured base URL changes nothing.
    assert.equal(r.adapter.buildRequest(req, { baseUrl: r.baseUrl + "/", apiKey: "k" }, true).url, r.url);
    const body = JSON.parse(streamed.init.body as string);
    assert.equal(body.model, r.model);
    assert.equal(body[r.maxParam], 321);
    const other = r.maxParam === "max_tokens" ? "max_completion_tokens" : "max_tokens";
    assert.equal(body[other], undefined, `no ${other}`);
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, r.includeUsage ? { include_usage: true } : undefined);
    assert.equal(body.temperature, 0.5);
    assert.deepEqual(body.stop, ["\n\n"]);
    const headers = streamed.init.headers as Record<string, string>;
    assert.equal(headers.authorization, "Bearer k");
    assert.equal(headers.accept, "text/event-stream");
    assert.equal(streamed.init.method, "POST");

    const plain = JSON.parse(
      r.adapter.buildRequest(req, { baseUrl: r.baseUrl, apiKey: "k" }, false).init.body as string,
    );
    assert.equal(plain.stream, false);
    assert.equal(plain.stream_options, undefined, "stream_options only with stream");
  });
}

Deno.test("user content of text parts only is sent as one string; with an image, as parts", () => {
  const sent = (adapter: ProviderAdapter, content: ChatMessage["content"]) =>
    JSON.parse(
      adapter.buildRequest(
        {
          model: chatModel("groq", "llama-3.3-70b-versatile"),
          messages: [{ role: "user", content }] as ChatMessage[],
          maxOutputTokens: 10,
        },
        { baseUrl: groq.defaultBaseUrl, apiKey: "k" },
        true,
      ).init.body as string,
    ).messages[0].content;
  // Groq's text-only models refuse a list: 400 "messages[1].content must be a string".
  for (
    const adapter of [groq.groqAdapter, openai.openaiAdapter(), mistral.mistralAdapter, local.localAdapter]
  ) {
    assert.equal(
      sent(adapter, [{ type: "text", text: "What is " }, { type: "text", text: "2+2?" }]),
      "What is 2+2?",
    );
    assert.equal(sent(adapter, "plain"), "plain");
  }
  const image = { type: "image" as const, url: "https://example.com/cat.png" };
  assert.deepEqual(sent(groq.groqAdapter, [{ type: "text", text: "What is this?" }, image]), [
    { type: "text", text: "What is this?" },
    { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
  ]);
});

Deno.test("Perplexity: system messages first, as one; same-role turns merged; the user's turn first", () => {
  const sent = (messages: ChatMessage[]) =>
    JSON.parse(
      perplexity.perplexityAdapter.buildRequest(
        { model: chatModel("perplexity", "sonar"), messages, maxOutputTokens: 10 },
        { baseUrl: perplexity.defaultBaseUrl, apiKey: "k" },
        true,
      ).init.body as string,
    ).messages;
  const image = { type: "image" as const, url: "https://example.com/cat.png" };
  assert.deepEqual(
    sent([
      { role: "user", content: "First." },
      { role: "user", content: "Second." },
      { role: "system", content: "Be brief." },
      { role: "assistant", content: "One." },
      { role: "assistant", content: "" },
      { role: "assistant", content: "Two." },
      { role: "system", content: "Cite sources." },
      { role: "user", content: [{ type: "text", text: "Look:" }, image] },
      { role: "user", content: "What is it?" },
    ]),
    [
      { role: "system", content: "Be brief.\n\nCite sources." },
      { role: "user", content: "First.\n\nSecond." },
      { role: "assistant", content: "One.\n\nTwo." },
      {
        role: "user",
        content: [
          { type: "text", text: "Look:" },
          { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
          { type: "text", text: "What is it?" },
        ],
      },
    ],
  );
  // A history that opens with the assistant's turn gets a user turn before it.
  assert.deepEqual(sent([{ role: "assistant", content: "Hi, ask me." }, { role: "user", content: "Why?" }]), [
    { role: "user", content: "(start of conversation)" },
    { role: "assistant", content: "Hi, ask me." },
    { role: "user", content: "Why?" },
  ]);
  // Other OpenAI-compatible providers get the messages as they are.
  const plain = JSON.parse(
    openai.openaiAdapter().buildRequest(
      {
        model: chatModel("openai", "gpt-4o-mini"),
        messages: [{ role: "user", content: "a" }, { role: "system", content: "s" }, {
          role: "user",
          content: "b",
        }],
        maxOutputTokens: 10,
      },
      { baseUrl: openai.defaultBaseUrl, apiKey: "k" },
      true,
    ).init.body as string,
  ).messages;
  assert.deepEqual(plain.map((m: { role: string }) => m.role), ["user", "system", "user"]);
});

Deno.test("local: no API key, no Authorization header; everyone else always sends one", () => {
  const req = { model: chatModel("local", "llama3.2"), messages: [], maxOutputTokens: 1 };
  const none = local.localAdapter.buildRequest(req, { baseUrl: local.defaultBaseUrl, apiKey: "" }, true);
  assert.equal((none.init.headers as Record<string, string>).authorization, undefined);
  const withKey = local.localAdapter.buildRequest(
    req,
    { baseUrl: local.defaultBaseUrl, apiKey: "ollama" },
    true,
  );
  assert.equal((withKey.init.headers as Record<string, string>).authorization, "Bearer ollama");
  const ds = deepseek.deepseekAdapter.buildRequest(
    req,
    { baseUrl: deepseek.defaultBaseUrl, apiKey: "" },
    true,
  );
  assert.equal((ds.init.headers as Record<string, string>).authorization, "Bearer ");
});

Deno.test("Mistral: tool call ids become 9 letters and digits, the same for a call and its result", () => {
  const ours = newToolCallId();
  const ids = [ours, "toolu_01A09q90qw90lq917835lq9", "call_abc123", "D681PevKs"];
  const messages: ChatMessage[] = [{ role: "user", content: "time?" }];
  for (const id of ids) {
    messages.push(
      { role: "assistant", content: "", toolCalls: [{ id, name: "get_time", arguments: "{}" }] },
      { role: "tool", toolCallId: id, content: "12:00" },
    );
  }
  const build = (adapter: typeof mistral.mistralAdapter) =>
    JSON.parse(
      adapter.buildRequest(
        { model: chatModel("mistral", "mistral-large-2411"), messages, maxOutputTokens: 10 },
        { baseUrl: mistral.defaultBaseUrl, apiKey: "k" },
        true,
      ).init.body as string,
    ).messages as { tool_calls?: { id: string }[]; tool_call_id?: string }[];
  const sent = build(mistral.mistralAdapter);
  const mapped = ids.map((_, i) => sent[1 + 2 * i].tool_calls![0].id);
  for (const [i, id] of mapped.entries()) {
    assert.match(id, /^[a-zA-Z0-9]{9}$/, ids[i]);
    assert.equal(sent[2 + 2 * i].tool_call_id, id, "the result answers the mapped id");
  }
  assert.equal(mapped[3], "D681PevKs", "Mistral's own ids pass unchanged");
  assert.equal(new Set(mapped).size, ids.length, "distinct ids stay distinct");
  // The same history maps the same in the next request (the conversation's next turn).
  assert.deepEqual(build(mistral.mistralAdapter), sent);
  // Other OpenAI-compatible providers get the ids as they are.
  assert.equal(build(openai.openaiAdapter()).at(1)!.tool_calls![0].id, ours);
});
