// The Gemini generateContent adapter against real recorded Gemini responses: text, reasoning
// (thought parts), tool calls, finish reason and usage must come out exactly as Gemini reported
// them, with thinking tokens billed as output (outputTokens = candidates + thoughts).

import assert from "node:assert/strict";
import { geminiAdapter } from "../../supabase/functions/_shared/providers/gemini/adapter.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import {
  type Completion,
  ProviderError,
  type ProviderEvent,
} from "../../supabase/functions/_shared/providers/types.ts";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { chunkedStream, fixtureText, manifest, type ManifestEntry, sseBody } from "../support/fixtures.ts";

const adapter = geminiAdapter;

/** The manifest's raw Gemini usageMetadata (not in the shared ManifestEntry type). */
interface GeminiEntry extends ManifestEntry {
  providerUsageRaw: {
    promptTokenCount: number;
    candidatesTokenCount: number;
    thoughtsTokenCount?: number;
    cachedContentTokenCount?: number;
    totalTokenCount: number;
  };
}

const entries = manifest().filter((e) => e.wireFormat === "gemini") as GeminiEntry[];
const SEEDS = [1, 2, 3, 7, 42, 99];

/** The body as Gemini sent it: .sse verbatim (CRLF), .chunks.txt re-framed `data: <line>\r\n\r\n`. */
function geminiBody(entry: ManifestEntry): string {
  const text = fixtureText(entry);
  if (entry.file.endsWith(".sse")) return text;
  return text.split("\n").filter((l) => l.trim()).map((l) => `data: ${l}\r\n\r\n`).join("");
}

function replay(entry: ManifestEntry, seed: number): Promise<Completion> {
  return collect(adapter.parseStream(chunkedStream(geminiBody(entry), seed)));
}

function assertMatches(got: Completion, entry: GeminiEntry): void {
  assert.equal(got.text, entry.expectedText);
  assert.equal(got.reasoning, entry.expectedReasoning);
  const expectedCalls = entry.expectedToolCalls ?? [];
  assert.equal(got.toolCalls.length, expectedCalls.length);
  got.toolCalls.forEach((call, i) => {
    const want = expectedCalls[i];
    assert.equal(call.name, want.name);
    // The manifest's argument text was serialized by Python (`{"a": 1}`), ours by JSON.stringify:
    // the same JSON value.
    assert.deepEqual(JSON.parse(call.arguments), JSON.parse(want.arguments));
    assert.equal(call.id, want.id ?? "", "no id from Gemini, none invented");
  });
  assert.equal(got.finishReason, entry.finishReason);

  const raw = entry.providerUsageRaw;
  const thoughts = raw.thoughtsTokenCount ?? 0;
  assert.ok(got.usage, "usage reported");
  // Billing: every prompt token in, answer + thinking out.
  assert.equal(got.usage.inputTokens, raw.promptTokenCount);
  assert.equal(got.usage.outputTokens, raw.candidatesTokenCount + thoughts);
  assert.equal(got.usage.reasoningTokens, thoughts);
  assert.equal(got.usage.cachedInputTokens, raw.cachedContentTokenCount ?? 0);
  // The manifest's own reading agrees: its outputTokens is candidatesTokenCount alone and its
  // reasoningTokens the thoughts, and Gemini's total is all of them.
  assert.equal(entry.expectedUsage!.inputTokens, raw.promptTokenCount);
  assert.equal(entry.expectedUsage!.outputTokens, raw.candidatesTokenCount);
  assert.equal(entry.usageDetails?.reasoningTokens ?? 0, thoughts);
  assert.equal(got.usage.inputTokens + got.usage.outputTokens, raw.totalTokenCount);
  assert.equal(entry.usageDetails?.totalTokens, raw.totalTokenCount);
}

Deno.test("the manifest has Gemini-format fixtures to replay (streams and a non-streamed body)", () => {
  assert.ok(entries.length >= 5, `found ${entries.length}`);
  assert.ok(entries.some((e) => e.streaming) && entries.some((e) => !e.streaming));
  assert.ok(entries.some((e) => e.expectedReasoning), "one has thought parts");
  assert.ok(entries.some((e) => e.expectedToolCalls?.length), "one has a function call");
});

for (const entry of entries) {
  Deno.test(`replays ${entry.file}`, async () => {
    if (!entry.streaming) {
      assertMatches(adapter.parseResponse(JSON.parse(fixtureText(entry))), entry);
      return;
    }
    const results = await Promise.all(SEEDS.map((seed) => replay(entry, seed)));
    for (const got of results) assertMatches(got, entry);
    for (const got of results) assert.deepEqual(got, results[0], "same result however the network cuts it");
    // LF framing (how the recorder's chunks are replayed for other providers) reads the same.
    const lf = await collect(adapter.parseStream(chunkedStream(sseBody(entry), 5)));
    assert.deepEqual(lf, results[0]);
  });
}

Deno.test("usage is the last chunk's, even where promptTokenCount changes at the end", async () => {
  const entry = entries.find((e) => e.file === "google/stream-text.sse")!;
  assert.match(fixtureText(entry), /"promptTokenCount": 15/, "the early chunks say 15");
  const events = [];
  for await (const e of adapter.parseStream(chunkedStream(geminiBody(entry)))) events.push(e);
  const usages = events.filter((e) => e.type === "usage");
  assert.equal(usages.length, 1, "one usage event, once the stream has ended");
  assert.equal(events.at(-1)?.type, "usage");
  assert.deepEqual(usages[0], {
    type: "usage",
    usage: { inputTokens: 13, outputTokens: 8, cachedInputTokens: 0, reasoningTokens: 0 },
  });
});

Deno.test("thought parts stream as reasoning before the answer", async () => {
  const entry = entries.find((e) => e.file === "google/stream-thought-summaries.sse")!;
  const kinds: string[] = [];
  for await (const e of adapter.parseStream(chunkedStream(geminiBody(entry)))) {
    if (kinds.at(-1) !== e.type) kinds.push(e.type);
  }
  assert.deepEqual(kinds, ["reasoning", "text", "finish", "usage"]);
});

const data = (o: unknown) => `data: ${JSON.stringify(o)}\r\n\r\n`;
const textChunk = (text: string, extra: Record<string, unknown> = {}) => ({
  candidates: [{ content: { parts: [{ text }], role: "model" }, index: 0, ...extra }],
});

Deno.test("a stream that ends cleanly before a finishReason is broken: its text and last usage, then an error", async () => {
  const body = data({ ...textChunk("Hel"), usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } }) +
    data({ ...textChunk("lo"), usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2 } });
  const seen: ProviderEvent[] = [];
  const err = await (async () => {
    for await (const e of adapter.parseStream(chunkedStream(body, 3))) seen.push(e);
  })().then(() => undefined, (e) => e);
  assert.ok(err instanceof ProviderError, `not a whole answer: ${err}`);
  assert.equal(err.kind, "error");
  // What came before the end is still read, and Gemini's running usage billed.
  const got = await collect((async function* () {
    yield* seen;
  })());
  assert.equal(got.text, "Hello");
  assert.equal(got.finishReason, null);
  assert.deepEqual(got.usage, { inputTokens: 4, outputTokens: 2, cachedInputTokens: 0, reasoningTokens: 0 });
  // The same body with its finishReason is whole.
  const whole = body + data({ ...textChunk("", { finishReason: "STOP" }) });
  assert.equal((await collect(adapter.parseStream(chunkedStream(whole, 3)))).finishReason, "STOP");
});

Deno.test("cached and tool-use prompt tokens: all input, the cached ones also reported apart", () => {
  const got = adapter.parseResponse({
    ...textChunk("ok", { finishReason: "STOP" }),
    usageMetadata: {
      promptTokenCount: 1000,
      cachedContentTokenCount: 800,
      toolUsePromptTokenCount: 50,
      candidatesTokenCount: 10,
      thoughtsTokenCount: 30,
      totalTokenCount: 1090,
    },
  });
  assert.deepEqual(got.usage, {
    inputTokens: 1050,
    outputTokens: 40,
    cachedInputTokens: 800,
    reasoningTokens: 30,
  });
  assert.equal(got.usage!.inputTokens + got.usage!.outputTokens, 1090);
});

Deno.test("function calls: complete calls with JSON arguments, ids kept when Gemini sends them", async () => {
  const parts = [
    { functionCall: { id: "call_1", name: "weather", args: { location: "Paris", days: 2 } } },
    { functionCall: { name: "time", args: {} } },
  ];
  const json = { candidates: [{ content: { parts, role: "model" }, finishReason: "STOP" }] };
  const expected = [
    { id: "call_1", name: "weather", arguments: '{"location":"Paris","days":2}' },
    { id: "", name: "time", arguments: "{}" },
  ];
  assert.deepEqual(adapter.parseResponse(json).toolCalls, expected);
  // Streamed, each call arrives whole, possibly in separate chunks.
  const body = data({ candidates: [{ content: { parts: [parts[0]], role: "model" } }] }) +
    data({ candidates: [{ content: { parts: [parts[1]], role: "model" }, finishReason: "STOP" }] });
  const got = await collect(adapter.parseStream(chunkedStream(body, 11)));
  assert.deepEqual(got.toolCalls, expected);
  assert.equal(got.text, "");
});

Deno.test("grounding metadata URIs become citations, in order, without duplicates", async () => {
  const grounding = {
    groundingChunks: [
      { web: { uri: "https://a.example/1", title: "a" } },
      { web: { uri: "https://b.example/2", title: "b" } },
      { web: { uri: "https://a.example/1", title: "a" } },
    ],
  };
  const json = textChunk("Paris.", { finishReason: "STOP", groundingMetadata: grounding });
  assert.deepEqual(adapter.parseResponse(json).citations, ["https://a.example/1", "https://b.example/2"]);
  const got = await collect(adapter.parseStream(chunkedStream(data(json), 2)));
  assert.deepEqual(got.citations, ["https://a.example/1", "https://b.example/2"]);
});

Deno.test("an error object in the stream is a classified provider error, not silent success", async () => {
  const errorBody = (code: number, status: string) =>
    data(textChunk("Hi")) + data({ error: { code, message: "boom", status } });
  const cases: [number, string, ProviderError["kind"]][] = [
    [500, "INTERNAL", "error"],
    [503, "UNAVAILABLE", "unavailable"],
    [429, "RESOURCE_EXHAUSTED", "unavailable"],
    [504, "DEADLINE_EXCEEDED", "timeout"],
  ];
  for (const [code, status, kind] of cases) {
    const err = await collect(adapter.parseStream(chunkedStream(errorBody(code, status)))).catch((e) => e);
    assert.ok(err instanceof ProviderError, String(err));
    assert.equal(err.kind, kind);
    assert.equal(err.status, code);
    assert.match(err.message, new RegExp(`${status}.*boom`));
  }
  assert.throws(
    () => adapter.parseResponse({ error: { code: 500, message: "boom", status: "INTERNAL" } }),
    ProviderError,
  );
});

Deno.test("a blocked prompt is a provider error (streamed or not)", async () => {
  const blocked = {
    promptFeedback: { blockReason: "SAFETY", safetyRatings: [] },
    usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
  };
  assert.throws(() => adapter.parseResponse(blocked), /blocked the prompt \(SAFETY\)/);
  await assert.rejects(collect(adapter.parseStream(chunkedStream(data(blocked)))), ProviderError);
});

Deno.test("malformed JSON in the stream is a provider error", async () => {
  await assert.rejects(
    collect(adapter.parseStream(chunkedStream(data(textChunk("a")) + "data: {not json\r\n\r\n"))),
    /malformed JSON/,
  );
});

// ---------------------------------------------------------------------------------------------
// Requests

const MODEL = {
  id: "gemini-2.0-flash",
  provider: "gemini",
  vendor: "Google",
  name: "Gemini 2.0 Flash",
  apiModel: "gemini-2.0-flash",
  capabilities: ["chat", "vision", "tools", "code"],
  contextWindow: 1_048_576,
  maxOutputTokens: 8_192,
  pricing: {
    unit: "tokens",
    inputPerMTok: "0.10",
    outputPerMTok: "0.40",
    source: "https://ai.google.dev/gemini-api/docs/pricing",
    asOf: "2025-06-01",
  },
  quality: { general: 7 },
  tiers: ["free"],
} satisfies ChatModel;

const ENDPOINT = { baseUrl: "https://generativelanguage.googleapis.com", apiKey: "k-123" };

function build(req: Partial<Parameters<typeof adapter.buildRequest>[0]>, stream = true) {
  const { url, init } = adapter.buildRequest(
    { model: MODEL, messages: [{ role: "user", content: "Hi" }], maxOutputTokens: 100, ...req },
    ENDPOINT,
    stream,
  );
  return {
    url,
    init,
    headers: init.headers as Record<string, string>,
    body: JSON.parse(init.body as string),
  };
}

Deno.test("request URLs: streamGenerateContent?alt=sse and generateContent under /v1beta/models", () => {
  assert.equal(
    build({}).url,
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
  );
  assert.equal(
    build({}, false).url,
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
  );
  const { url } = adapter.buildRequest(
    { model: { ...MODEL, apiModel: "models/gemini-1.5-pro" }, messages: [], maxOutputTokens: 1 },
    { baseUrl: "http://127.0.0.1:9/", apiKey: "k" },
    false,
  );
  assert.equal(url, "http://127.0.0.1:9/v1beta/models/gemini-1.5-pro:generateContent");
});

Deno.test("request headers: the key in x-goog-api-key, never in the URL", () => {
  const { url, init, headers } = build({});
  assert.equal(init.method, "POST");
  assert.equal(headers["x-goog-api-key"], "k-123");
  assert.equal(headers["content-type"], "application/json");
  assert.equal(headers.accept, "text/event-stream");
  assert.equal(build({}, false).headers.accept, "application/json");
  assert.ok(!url.includes("k-123") && !("authorization" in headers));
});

Deno.test("request body: system → systemInstruction, roles user/model, same-role turns merged", () => {
  const { body } = build({
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "user", content: "Are you there?" },
      { role: "assistant", content: "Yes." },
      { role: "assistant", content: "" },
      { role: "assistant", content: "How can I help?" },
      { role: "system", content: "Answer in French." },
      { role: "user", content: "Capital of France?" },
    ],
  });
  assert.deepEqual(body.systemInstruction, { parts: [{ text: "Be brief." }, { text: "Answer in French." }] });
  assert.deepEqual(body.contents, [
    { role: "user", parts: [{ text: "Hi" }, { text: "Are you there?" }] },
    { role: "model", parts: [{ text: "Yes." }, { text: "How can I help?" }] },
    { role: "user", parts: [{ text: "Capital of France?" }] },
  ]);
  assert.equal(build({}).body.systemInstruction, undefined, "no system message, no systemInstruction");
});

Deno.test("request body: generationConfig carries the budget, sampling and stop sequences", () => {
  assert.deepEqual(
    build({ maxOutputTokens: 321, temperature: 0, topP: 0.9, stop: ["END", "\n\n"] }).body.generationConfig,
    { maxOutputTokens: 321, temperature: 0, topP: 0.9, stopSequences: ["END", "\n\n"] },
  );
  assert.deepEqual(build({ stop: [] }).body.generationConfig, { maxOutputTokens: 100 });
  const { body } = build({ model: { ...MODEL, capabilities: ["chat", "reasoning"] } });
  assert.deepEqual(body.generationConfig.thinkingConfig, { includeThoughts: true }, "thinking models");
  assert.deepEqual(Object.keys(build({}).body), ["contents", "generationConfig"]);
});
