// The simulated Gemini provider, checked with the official `@google/genai` SDK as its client, and
// our Gemini adapter driven against it. Each test starts its own simulator (OS-assigned port, no
// pacing) and closes it, so Deno's sanitizers also check that nothing is left behind.

import assert from "node:assert/strict";
import { join } from "node:path";
import { ApiError, type GenerateContentResponse, GoogleGenAI } from "@google/genai";
import {
  type GeminiSimulatorOptions,
  type Simulator,
  startGeminiSimulator,
} from "../../scripts/simulators/gemini.ts";
import type { FaultRuleInput, StatsSnapshot } from "../../scripts/simulators/control.ts";
import { countTokens, tokenize } from "../../scripts/simulators/tokens.ts";
import { geminiAdapter } from "../../supabase/functions/_shared/providers/gemini/adapter.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import { ProviderError } from "../../supabase/functions/_shared/providers/types.ts";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { FIXTURES } from "../support/fixtures.ts";

const GOOGLE_FIXTURES = join(FIXTURES, "providers", "google");
const MODEL = "gemini-2.0-flash";

async function withSim(
  fn: (sim: Simulator, client: GoogleGenAI) => Promise<void>,
  opts: GeminiSimulatorOptions = {},
): Promise<void> {
  const sim = await startGeminiSimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0, ...opts });
  try {
    await fn(sim, clientFor(sim));
  } finally {
    await sim.close();
  }
}

/** The SDK pointed at the simulator: baseUrl is the root, the SDK adds the version (v1beta). */
function clientFor(sim: Simulator, apiKey = "sim"): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: sim.url } });
}

async function setFaults(sim: Simulator, rules: FaultRuleInput | FaultRuleInput[]): Promise<void> {
  const res = await fetch(`${sim.url}/__simulator/faults`, { method: "POST", body: JSON.stringify(rules) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
}

async function stats(sim: Simulator): Promise<StatsSnapshot> {
  const res = await fetch(`${sim.url}/__simulator/stats`);
  assert.equal(res.status, 200);
  return await res.json();
}

/** Polls the stats until `ok` holds (server-side bookkeeping can trail the client by a tick). */
async function statsWhen(sim: Simulator, ok: (s: StatsSnapshot) => boolean): Promise<StatsSnapshot> {
  for (let i = 0; i < 100; i++) {
    const s = await stats(sim);
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  return await stats(sim);
}

async function chunksOf(stream: AsyncIterable<GenerateContentResponse>): Promise<GenerateContentResponse[]> {
  const chunks: GenerateContentResponse[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

/** Iterates until the stream fails; returns what arrived and the error (undefined if none). */
async function readUntilError(
  stream: AsyncIterable<GenerateContentResponse>,
): Promise<{ chunks: GenerateContentResponse[]; error: unknown }> {
  const chunks: GenerateContentResponse[] = [];
  try {
    for await (const c of stream) chunks.push(c);
    return { chunks, error: undefined };
  } catch (error) {
    return { chunks, error };
  }
}

const answerText = (chunks: GenerateContentResponse[]) => chunks.map((c) => c.text ?? "").join("");

function partsOf(r: GenerateContentResponse) {
  return r.candidates?.[0]?.content?.parts ?? [];
}

function thoughtText(responses: GenerateContentResponse[]): string {
  return responses.flatMap(partsOf).filter((p) => p.thought).map((p) => p.text ?? "").join("");
}

/** The Google error body the SDK put in ApiError.message. */
function googleError(e: unknown): { code: number; message: string; status: string; details?: unknown[] } {
  assert.ok(e instanceof ApiError, `expected ApiError, got ${e}`);
  return JSON.parse(e.message).error;
}

Deno.test("generateContent: simulated, deterministic reply with usage consistent with the tokenizer", async () => {
  await withSim(async (_sim, ai) => {
    const res = await ai.models.generateContent({ model: MODEL, contents: "Hello!" });
    const text = res.text ?? "";
    assert.ok(text.startsWith(`[simulated ${MODEL}] You said: "Hello!".`), text);
    const pieces = tokenize(text);
    assert.ok(pieces.length > 20 && pieces.length <= 40, `${pieces.length} tokens`);
    assert.equal(res.candidates?.length, 1);
    assert.equal(res.candidates?.[0].finishReason, "STOP");
    assert.equal(res.candidates?.[0].content?.role, "model");
    assert.equal(res.modelVersion, MODEL);
    assert.match(res.responseId ?? "", /^[A-Za-z0-9]{20,}$/);

    const u = res.usageMetadata!;
    assert.equal(u.promptTokenCount, countTokens("Hello!")); // 2: "Hello", "!"
    assert.equal(u.candidatesTokenCount, pieces.length);
    assert.equal(u.totalTokenCount, u.promptTokenCount! + u.candidatesTokenCount!);
    assert.equal(u.thoughtsTokenCount, undefined, "no thinking unless asked for");
    assert.deepEqual(u.promptTokensDetails, [{ modality: "TEXT", tokenCount: 2 }]);

    const again = await ai.models.generateContent({ model: MODEL, contents: "Hello!" });
    assert.equal(again.text, text, "same input, same reply");
    assert.notEqual(again.responseId, res.responseId);

    // systemInstruction and earlier turns count towards the prompt (texts only, no overhead).
    const turns = await ai.models.generateContent({
      model: "gemini-2.5-pro",
      contents: [
        { role: "user", parts: [{ text: "Hi" }] },
        { role: "model", parts: [{ text: "Hello." }] },
        { role: "user", parts: [{ text: "What is 2+2?" }] },
      ],
      config: { systemInstruction: "Be brief." },
    });
    assert.ok(turns.text?.startsWith(`[simulated gemini-2.5-pro] You said: "What is 2+2?".`), turns.text);
    assert.equal(
      turns.usageMetadata?.promptTokenCount,
      countTokens("Be brief.") + countTokens("Hi") + countTokens("Hello.") + countTokens("What is 2+2?"),
    );
  });
});

Deno.test("generateContentStream: same text as generateContent, running usage, the last chunk's is final", async () => {
  await withSim(async (_sim, ai) => {
    const full = await ai.models.generateContent({ model: MODEL, contents: "Hello!" });
    const chunks = await chunksOf(
      await ai.models.generateContentStream({ model: MODEL, contents: "Hello!" }),
    );
    assert.ok(chunks.length > 3, `${chunks.length} chunks`);
    assert.equal(answerText(chunks), full.text);

    const last = chunks.at(-1)!;
    assert.deepEqual(last.usageMetadata, full.usageMetadata);
    assert.equal(last.candidates?.[0].finishReason, "STOP");
    assert.equal(chunks.filter((c) => c.candidates?.[0].finishReason).length, 1, "only the last has one");
    let seen = 0;
    for (const c of chunks) {
      assert.equal(c.responseId, chunks[0].responseId);
      assert.equal(c.modelVersion, MODEL);
      const u = c.usageMetadata!;
      assert.equal(u.promptTokenCount, full.usageMetadata?.promptTokenCount, "usage on every chunk");
      assert.ok(u.candidatesTokenCount! > seen, "candidatesTokenCount is a running total");
      seen = u.candidatesTokenCount!;
      assert.equal(
        u.candidatesTokenCount,
        tokenize(answerText(chunks.slice(0, chunks.indexOf(c) + 1))).length,
      );
    }
  });
});

Deno.test("thinking: thought parts first, counted in thoughtsTokenCount apart from the answer", async () => {
  await withSim(async (_sim, ai) => {
    const config = { thinkingConfig: { includeThoughts: true } };
    const plain = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "Hello!" });
    const res = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "Hello!", config });
    const parts = partsOf(res);
    assert.equal(parts[0].thought, true);
    assert.ok(!parts[1].thought);
    assert.equal(res.text, plain.text, "response.text leaves the thoughts out");
    const thoughts = thoughtText([res]);
    assert.match(thoughts, /^\*\*Reading the request\*\*/);
    const u = res.usageMetadata!;
    assert.equal(u.thoughtsTokenCount, tokenize(thoughts).length);
    assert.equal(u.candidatesTokenCount, plain.usageMetadata?.candidatesTokenCount, "answer tokens only");
    assert.equal(u.totalTokenCount, u.promptTokenCount! + u.candidatesTokenCount! + u.thoughtsTokenCount!);

    const chunks = await chunksOf(
      await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "Hello!", config }),
    );
    assert.equal(thoughtText(chunks), thoughts);
    assert.equal(answerText(chunks), res.text);
    const firstAnswer = chunks.findIndex((c) => partsOf(c).some((p) => !p.thought));
    assert.ok(
      chunks.slice(0, firstAnswer).every((c) => partsOf(c).every((p) => p.thought)),
      "thoughts first",
    );
    assert.deepEqual(chunks.at(-1)!.usageMetadata, u);
  });
});

Deno.test("maxOutputTokens truncates with MAX_TOKENS (thinking takes its share first)", async () => {
  await withSim(async (_sim, ai) => {
    const full = (await ai.models.generateContent({ model: MODEL, contents: "Hello!" })).text!;
    const short = await ai.models.generateContent({
      model: MODEL,
      contents: "Hello!",
      config: { maxOutputTokens: 5 },
    });
    assert.equal(short.candidates?.[0].finishReason, "MAX_TOKENS");
    assert.equal(short.usageMetadata?.candidatesTokenCount, 5);
    assert.equal(short.text, tokenize(full).slice(0, 5).join(""));

    const chunks = await chunksOf(
      await ai.models.generateContentStream({
        model: MODEL,
        contents: "Hello!",
        config: { maxOutputTokens: 7 },
      }),
    );
    assert.equal(answerText(chunks), tokenize(full).slice(0, 7).join(""));
    assert.equal(chunks.at(-1)!.candidates?.[0].finishReason, "MAX_TOKENS");
    assert.equal(chunks.at(-1)!.usageMetadata?.candidatesTokenCount, 7);

    const roomy = await ai.models.generateContent({
      model: MODEL,
      contents: "Hello!",
      config: { maxOutputTokens: 1000 },
    });
    assert.equal(roomy.candidates?.[0].finishReason, "STOP");
    assert.equal(roomy.text, full);

    // The budget covers thoughts + answer: a small one is all spent thinking, no answer.
    const thinking = await ai.models.generateContentStream({
      model: "gemini-2.5-pro",
      contents: "Hello!",
      config: { maxOutputTokens: 6, thinkingConfig: { includeThoughts: true } },
    });
    const tc = await chunksOf(thinking);
    const last = tc.at(-1)!;
    assert.equal(last.candidates?.[0].finishReason, "MAX_TOKENS");
    assert.equal(last.usageMetadata?.thoughtsTokenCount, 6);
    assert.equal(last.usageMetadata?.candidatesTokenCount, undefined);
    assert.equal(answerText(tc), "");
  });
});

Deno.test("stopSequences end the answer before the first match", async () => {
  await withSim(async (_sim, ai) => {
    const res = await ai.models.generateContent({
      model: MODEL,
      contents: "Hello!",
      config: { stopSequences: [" said", "zzz"] },
    });
    assert.equal(res.text, `[simulated ${MODEL}] You`);
    assert.equal(res.candidates?.[0].finishReason, "STOP");
    assert.equal(res.usageMetadata?.candidatesTokenCount, tokenize(`[simulated ${MODEL}] You`).length);
  });
});

Deno.test("429 fault → ApiError 429 RESOURCE_EXHAUSTED, its wait in RetryInfo (no retry-after header); SDK retries only when told", async () => {
  await withSim(async (sim, ai) => {
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 2 });
    const err = await ai.models.generateContent({ model: MODEL, contents: "Hello!" }).catch((e) => e);
    assert.equal(err.status, 429);
    const body = googleError(err);
    assert.equal(body.code, 429);
    assert.equal(body.status, "RESOURCE_EXHAUSTED");
    assert.match(body.message, /exceeded your current quota/);
    assert.ok(
      body.details?.some((d) => (d as Record<string, string>).retryDelay === "2s"),
      JSON.stringify(body.details),
    );
    // As Gemini answers: the wait is only in the body, the raw response has no retry-after header.
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 3 });
    const raw = await fetch(`${sim.url}/v1beta/models/${MODEL}:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": "sim" },
      body: JSON.stringify({ contents: [{ parts: [{ text: "Hello!" }] }] }),
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get("retry-after"), null);
    assert.match(raw.headers.get("content-type") ?? "", /^application\/json/);
    const details = (await raw.json()).error.details as Record<string, string>[];
    assert.deepEqual(details.at(-1), {
      "@type": "type.googleapis.com/google.rpc.RetryInfo",
      retryDelay: "3s",
    });

    // Streaming: the 429 comes before any chunk, when the stream is opened.
    await setFaults(sim, { mode: "rate_limit" });
    const streamErr = await ai.models.generateContentStream({ model: MODEL, contents: "Hello!" }).catch((e) =>
      e
    );
    assert.equal(googleError(streamErr).code, 429);

    // One-shot: the next request is fine. With retryOptions the SDK retries (its own backoff).
    await ai.models.generateContent({ model: MODEL, contents: "Hello!" });
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 0 });
    const retrying = new GoogleGenAI({
      apiKey: "sim",
      httpOptions: { baseUrl: sim.url, retryOptions: { attempts: 2, initialDelay: 0.01, jitter: 0 } },
    });
    const before = await stats(sim);
    const ok = await retrying.models.generateContent({ model: MODEL, contents: "Hello!" });
    assert.equal(ok.candidates?.[0].finishReason, "STOP");
    const after = await stats(sim);
    assert.equal(after.requests - before.requests, 2, "one 429 and one retry");
    assert.equal(after.faults.rate_limit, 4);
  });
});

Deno.test("500, 503 and overloaded faults → ApiError INTERNAL / UNAVAILABLE; model filter", async () => {
  await withSim(async (sim, ai) => {
    await setFaults(sim, { mode: "server_error" });
    const err = await ai.models.generateContent({ model: MODEL, contents: "Hello!" }).catch((e) => e);
    assert.equal(err.status, 500);
    assert.equal(googleError(err).status, "INTERNAL");

    await setFaults(sim, { mode: "unavailable", count: 2, retryAfterSeconds: 4 });
    const e1 = await ai.models.generateContentStream({ model: MODEL, contents: "Hello!" }).catch((e) => e);
    assert.equal(e1.status, 503);
    assert.equal(googleError(e1).status, "UNAVAILABLE");
    const e2 = await fetch(`${sim.url}/v1beta/models/${MODEL}:generateContent?key=sim`, {
      method: "POST",
      body: JSON.stringify({ contents: [{ parts: [{ text: "Hello!" }] }] }),
    });
    assert.equal(e2.status, 503);
    assert.equal(e2.headers.get("retry-after"), null);
    assert.deepEqual((await e2.json()).error.details, [
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "4s" },
    ]);

    // Gemini has no overload answer of its own: "overloaded" is the same 503.
    await setFaults(sim, { mode: "overloaded" });
    const e3 = await ai.models.generateContent({ model: MODEL, contents: "Hello!" }).catch((e) => e);
    assert.equal(e3.status, 503);
    assert.match(googleError(e3).message, /overloaded/);

    await setFaults(sim, [{ mode: "server_error", model: "gemini-1.5-pro" }]);
    await ai.models.generateContent({ model: MODEL, contents: "Hello!" }); // another model passes
    const hit = await ai.models.generateContent({ model: "gemini-1.5-pro", contents: "Hello!" }).catch((e) =>
      e
    );
    assert.equal(hit.status, 500);
    const s = await stats(sim);
    assert.equal(s.byStatus["500"], 2);
    assert.equal(s.byStatus["503"], 3);
  });
});

Deno.test("keys: a wrong key → 400 API_KEY_INVALID; no key → 403; only a bearer token → 401", async () => {
  await withSim(async (sim, ai) => {
    const ok = await ai.models.generateContent({ model: MODEL, contents: "Hello!" });
    assert.equal(ok.candidates?.[0].finishReason, "STOP");

    const wrong = await clientFor(sim, "wrong").models.generateContent({ model: MODEL, contents: "Hello!" })
      .catch((e) => e);
    assert.equal(wrong.status, 400);
    const body = googleError(wrong);
    assert.equal(body.status, "INVALID_ARGUMENT");
    assert.match(body.message, /API key not valid/);
    assert.equal((body.details?.[0] as { reason: string }).reason, "API_KEY_INVALID");
    const list = await clientFor(sim, "wrong").models.list().catch((e) => e);
    assert.equal(list.status, 400, "listing needs the key too");

    const generate = `${sim.url}/v1beta/models/${MODEL}:generateContent`;
    const payload = JSON.stringify({ contents: [{ parts: [{ text: "Hello!" }] }] });
    const none = await fetch(generate, { method: "POST", body: payload });
    assert.equal(none.status, 403);
    assert.deepEqual(Object.keys((await none.json()).error), ["code", "message", "status"]);
    const bearer = await fetch(generate, {
      method: "POST",
      body: payload,
      headers: { authorization: "Bearer x" },
    });
    assert.equal(bearer.status, 401);
    assert.equal((await bearer.json()).error.status, "UNAUTHENTICATED");
    const query = await fetch(`${generate}?key=sim`, { method: "POST", body: payload });
    assert.equal(query.status, 200, "?key= works like the header");
    await query.body?.cancel();
  }, { apiKeys: ["sim"] });
});

Deno.test("400 INVALID_ARGUMENT on a bad body, in Google's words", async () => {
  await withSim(async (sim, ai) => {
    const viaSdk = await ai.models.generateContent({
      model: MODEL,
      contents: "Hello!",
      config: { temperature: 5 },
    }).catch((e) => e);
    assert.equal(viaSdk.status, 400);
    assert.match(googleError(viaSdk).message, /generation_config\.temperature/);

    const post = async (body: string) => {
      const res = await fetch(`${sim.url}/v1beta/models/${MODEL}:generateContent`, {
        method: "POST",
        headers: { "x-goog-api-key": "sim", "content-type": "application/json" },
        body,
      });
      assert.equal(res.status, 400);
      const { error } = await res.json();
      assert.equal(error.code, 400);
      assert.equal(error.status, "INVALID_ARGUMENT");
      return error.message as string;
    };
    assert.match(await post("{not json"), /^Invalid JSON payload received/);
    assert.match(await post("{}"), /contents is not specified/);
    assert.match(await post('{"contents":[]}'), /contents is not specified/);
    assert.match(await post('{"contents":[{"role":"user","parts":[]}]}'), /parts must not be empty/);
    assert.match(await post('{"contents":[{"role":"user","parts":[{"text":""}]}]}'), /oneof field 'data'/);
    assert.match(
      await post('{"contents":[{"role":"bot","parts":[{"text":"x"}]}]}'),
      /valid role: user, model/,
    );
    assert.match(
      await post('{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":"many"}}'),
      /Invalid value at 'generation_config\.max_output_tokens' \(TYPE_INT32\)/,
    );
    assert.match(
      await post('{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"candidateCount":2}}'),
      /candidate_count must be 1/,
    );
    const s = await stats(sim);
    assert.equal(s.byStatus["400"], 9);
    assert.equal(s.byStatus["200"], undefined, "no request got through");
  });
});

Deno.test("cut_stream: the SDK's iteration throws the transport error, no finishReason; no silent retry", async () => {
  await withSim(async (sim, ai) => {
    const full = (await ai.models.generateContent({ model: MODEL, contents: "Hello!" })).text!;
    await setFaults(sim, { mode: "cut_stream", afterTokens: 6 });
    const { chunks, error } = await readUntilError(
      await ai.models.generateContentStream({ model: MODEL, contents: "Hello!" }),
    );
    // A dropped connection surfaces as the runtime fetch's body-read error, not an ApiError.
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /error reading a body from connection/);
    assert.equal(answerText(chunks), tokenize(full).slice(0, 6).join(""));
    assert.ok(chunks.every((c) => !c.candidates?.[0].finishReason), "no finishReason");
    assert.equal(chunks.at(-1)!.usageMetadata?.candidatesTokenCount, 6, "running usage up to the cut");
    const s = await statsWhen(sim, (s) => s.streams.cut === 1);
    assert.equal(s.streams.cut, 1);
    assert.equal(s.requests, 2, "the SDK did not reconnect (no continuation token)");

    // Cut before any chunk: still an error, still no retry.
    await setFaults(sim, { mode: "cut_stream", afterTokens: 0 });
    const early = await readUntilError(
      await ai.models.generateContentStream({ model: MODEL, contents: "Hello!" }),
    );
    assert.ok(early.error instanceof TypeError, String(early.error));
    assert.equal(early.chunks.length, 0);

    // Non-streaming: half of the JSON body, then the connection drops → the SDK raises.
    await setFaults(sim, { mode: "cut_stream" });
    const e2 = await ai.models.generateContent({ model: MODEL, contents: "Hello!" }).catch((e) => e);
    assert.ok(e2 instanceof TypeError, String(e2));
    assert.match(e2.message, /error reading a body from connection/);
    assert.equal((await statsWhen(sim, (s) => s.requests === 4)).requests, 4);
  });
});

Deno.test("stream_error: an error object mid-stream makes the SDK throw ApiError 500", async () => {
  await withSim(async (sim, ai) => {
    await setFaults(sim, { mode: "stream_error", afterTokens: 8 });
    const { chunks, error } = await readUntilError(
      await ai.models.generateContentStream({ model: MODEL, contents: "Hello!" }),
    );
    assert.equal((error as ApiError).status, 500);
    assert.match((error as ApiError).message, /got status: INTERNAL/);
    assert.equal(tokenize(answerText(chunks)).length, 8);
    assert.equal((await statsWhen(sim, (s) => s.streams.errored === 1)).streams.errored, 1);

    await setFaults(sim, { mode: "stream_error" }); // non-streaming: a plain 500
    const e = await ai.models.generateContent({ model: MODEL, contents: "Hello!" }).catch((e) => e);
    assert.equal(e.status, 500);
  });
});

Deno.test("stall: chunks stop without the stream closing; aborting stops the server side", async () => {
  await withSim(async (sim, ai) => {
    await setFaults(sim, { mode: "stall", afterTokens: 4 });
    const abort = new AbortController();
    const stream = await ai.models.generateContentStream({
      model: MODEL,
      contents: "Hello!",
      config: { abortSignal: abort.signal },
    });
    const it = stream[Symbol.asyncIterator]();
    assert.ok((await it.next()).value?.text);
    const next = it.next();
    const timeout = new Promise<"silent">((r) => setTimeout(() => r("silent"), 300));
    assert.equal(await Promise.race([next, timeout]), "silent", "nothing more arrives");
    assert.equal((await stats(sim)).streams.stalled, 1);
    abort.abort();
    const err = await next.then(() => undefined, (e) => e);
    assert.equal(err?.name, "AbortError");
    const s = await statsWhen(sim, (s) => s.active === 0);
    assert.equal(s.active, 0);
    assert.equal(s.streams.aborted, 1);
  });
});

Deno.test("close() ends a stalled stream and a stalled non-streaming request", async () => {
  const sim = await startGeminiSimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0 });
  const ai = clientFor(sim);
  await setFaults(sim, [{ mode: "stall", afterTokens: 1 }, { mode: "stall" }]);
  const stream = await ai.models.generateContentStream({ model: MODEL, contents: "Hello!" });
  const reading = chunksOf(stream).then(() => "ended", (e) => e);
  const waiting = ai.models.generateContent({ model: MODEL, contents: "Hello!" }).then(
    () => "answered",
    (e) => e,
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sim.stats().active, 2);
  await sim.close();
  const [r1, r2] = await Promise.all([reading, waiting]);
  assert.ok(r1 instanceof Error, `stream: ${r1}`);
  assert.ok(r2 instanceof Error, `request: ${r2}`);
});

Deno.test("pacing: first-token latency and token rate, overridable per request", async () => {
  await withSim(async (_sim, ai) => {
    let t0 = performance.now();
    await ai.models.generateContent({ model: MODEL, contents: "Hello!" });
    assert.ok(performance.now() - t0 >= 150, "default latency from the options");

    t0 = performance.now();
    const stream = await ai.models.generateContentStream({
      model: MODEL,
      contents: "Hello!",
      config: {
        maxOutputTokens: 12,
        httpOptions: { headers: { "x-simulator-latency-ms": "0", "x-simulator-tps": "50" } },
      },
    });
    const times: number[] = [];
    for await (const _ of stream) times.push(performance.now() - t0);
    assert.equal(times.length, 3, "12 tokens, 4 per chunk");
    // Two gaps of 4 tokens at 50/s (80 ms each) after the first chunk.
    assert.ok(times[2] - times[0] >= 2 * 80 - 10, `spread ${times[2] - times[0]} ms`);
    assert.ok(times[0] < 150, `first chunk at ${times[0]} ms (latency header 0)`);
  }, { firstTokenLatencyMs: 150 });
});

Deno.test("models.list() pages through the models in Google's shape; models.get(); countTokens", async () => {
  await withSim(async (_sim, ai) => {
    const names: string[] = [];
    const pager = await ai.models.list({ config: { pageSize: 2 } });
    assert.equal(pager.page.length, 2, "the first page holds pageSize models");
    for await (const m of pager) {
      assert.match(m.displayName ?? "", /\(simulated\)$/);
      assert.match(m.description ?? "", /^Simulated/);
      assert.deepEqual(
        m.supportedActions,
        m.name!.includes("imagen") ? ["predict"] : ["generateContent", "countTokens"],
      );
      names.push(m.name!);
    }
    assert.deepEqual(names, [
      "models/gemini-2.0-flash",
      "models/gemini-1.5-pro",
      "models/imagen-3.0-generate-002",
    ]);

    const one = await ai.models.get({ model: "gemini-anything" });
    assert.equal(one.name, "models/gemini-anything");
    assert.ok(one.inputTokenLimit && one.outputTokenLimit);

    const count = await ai.models.countTokens({ model: MODEL, contents: "Hello there, world!" });
    assert.equal(count.totalTokens, countTokens("Hello there, world!"));
    const res = await ai.models.generateContent({ model: MODEL, contents: "Hello there, world!" });
    assert.equal(res.usageMetadata?.promptTokenCount, count.totalTokens);
  }, { models: ["gemini-2.0-flash", "gemini-1.5-pro", "imagen-3.0-generate-002"] });
});

Deno.test("wire format matches the recorded Gemini stream and response", async () => {
  await withSim(async (sim) => {
    const recordedEvents = (await Deno.readTextFile(join(GOOGLE_FIXTURES, "stream-thought-summaries.sse")))
      .split("\r\n\r\n").filter((e) => e.startsWith("data: ")).map((e) => JSON.parse(e.slice(6)));
    const res = await fetch(`${sim.url}/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "x-goog-api-key": "sim", "content-type": "application/json" },
      body: JSON.stringify({
        contents: [{ role: "user", parts: [{ text: "Hello!" }] }],
        generationConfig: { thinkingConfig: { includeThoughts: true } },
      }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const raw = await res.text();
    assert.ok(raw.endsWith("\r\n\r\n") && !raw.includes("[DONE]"), "CRLF events, no end marker");
    const events = raw.split("\r\n\r\n").filter((e) => e !== "");
    assert.ok(events.every((e) => e.startsWith("data: ") && !e.includes("\n")), "one data: line each");
    const ours = events.map((e) => JSON.parse(e.slice(6)));

    const keys = (o: object) => Object.keys(o);
    const shape = (chunk: Record<string, unknown>) => {
      const c = (chunk.candidates as Record<string, unknown>[])[0];
      const content = c.content as { parts: object[] };
      return [
        keys(chunk),
        keys(c),
        keys(content),
        keys(content.parts[0]),
        keys(chunk.usageMetadata as object),
      ];
    };
    // A thought chunk, an answer chunk, the final chunk: the same keys in the same order.
    const firstAnswer = (list: { candidates: { content: { parts: { thought?: boolean }[] } }[] }[]) =>
      list.findIndex((c) => !c.candidates[0].content.parts[0].thought);
    for (
      const [mine, theirs] of [
        [ours[0], recordedEvents[0]],
        [ours[firstAnswer(ours) + 1], recordedEvents[firstAnswer(recordedEvents) + 1]],
        [ours.at(-1), recordedEvents.at(-1)],
      ]
    ) assert.deepEqual(shape(mine), shape(theirs));

    const recordedJson = JSON.parse(
      await Deno.readTextFile(join(GOOGLE_FIXTURES, "generate-content-text.json")),
    );
    const plain = await fetch(`${sim.url}/v1beta/models/gemini-2.5-pro:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": "sim" },
      body: JSON.stringify({ contents: [{ parts: [{ text: "Hello!" }] }] }),
    });
    const body = await plain.json();
    const topShape = (b: Record<string, unknown>) => {
      const c = (b.candidates as Record<string, unknown>[])[0];
      return [keys(b), keys(c), keys(c.content as object)];
    };
    assert.deepEqual(topShape(body), topShape(recordedJson));
    // The recorded body was from a thinking model; ours did not think, so no thoughtsTokenCount.
    assert.deepEqual(
      keys(body.usageMetadata),
      keys(recordedJson.usageMetadata).filter((k) => k !== "thoughtsTokenCount"),
    );
  });
});

Deno.test("streamGenerateContent without alt=sse answers a JSON array of the same chunks", async () => {
  await withSim(async (sim) => {
    const url = `${sim.url}/v1beta/models/${MODEL}:streamGenerateContent`;
    const init = {
      method: "POST",
      headers: { "x-goog-api-key": "sim" },
      body: JSON.stringify({ contents: [{ parts: [{ text: "Hello!" }] }] }),
    };
    const array = await (await fetch(url, init)).json();
    const sse = (await (await fetch(`${url}?alt=sse`, init)).text()).split("\r\n\r\n").filter(Boolean)
      .map((e) => JSON.parse(e.slice(6)));
    assert.ok(Array.isArray(array));
    const strip = (c: { responseId?: string }) => ({ ...c, responseId: undefined });
    assert.deepEqual(array.map(strip), sse.map(strip));
  });
});

// ---------------------------------------------------------------------------------------------
// Our adapter against the simulator

const GEMINI_25: ChatModel = {
  id: "gemini-2.5-flash",
  provider: "gemini",
  vendor: "Google",
  name: "Gemini 2.5 Flash",
  apiModel: "gemini-2.5-flash",
  capabilities: ["chat", "reasoning"],
  contextWindow: 1_048_576,
  maxOutputTokens: 65_536,
  pricing: {
    unit: "tokens",
    inputPerMTok: "0.30",
    outputPerMTok: "2.50",
    source: "https://ai.google.dev/gemini-api/docs/pricing",
    asOf: "2025-06-01",
  },
  quality: { general: 8 },
  tiers: ["free"],
};

Deno.test("our adapter against the simulator: text, reasoning and billed usage as the simulator reported", async () => {
  await withSim(async (sim) => {
    const request = {
      model: GEMINI_25,
      messages: [
        { role: "system" as const, content: "Be brief." },
        { role: "user" as const, content: "Hello!" },
        { role: "user" as const, content: "Tell me about Paris." },
      ],
      maxOutputTokens: 200,
      temperature: 0.5,
    };
    const endpoint = { baseUrl: sim.url, apiKey: "sim" };

    // Streaming: tee the body, so the adapter and the raw last usageMetadata see the same bytes.
    const { url, init } = geminiAdapter.buildRequest(request, endpoint, true);
    const res = await fetch(url, init);
    assert.equal(res.status, 200, await res.clone().text());
    const [forAdapter, forRaw] = res.body!.tee();
    const [got, raw] = await Promise.all([
      collect(geminiAdapter.parseStream(forAdapter)),
      new Response(forRaw).text(),
    ]);
    const chunks = raw.split("\r\n\r\n").filter(Boolean).map((e) => JSON.parse(e.slice(6)));
    const reported = chunks.at(-1).usageMetadata;
    assert.ok(reported.thoughtsTokenCount > 0, "the reasoning model thought (includeThoughts was sent)");
    assert.deepEqual(got.usage, {
      inputTokens: reported.promptTokenCount,
      outputTokens: reported.candidatesTokenCount + reported.thoughtsTokenCount,
      cachedInputTokens: 0,
      reasoningTokens: reported.thoughtsTokenCount,
    });
    assert.equal(got.usage!.inputTokens + got.usage!.outputTokens, reported.totalTokenCount);
    assert.equal(
      reported.promptTokenCount,
      countTokens("Be brief.") + countTokens("Hello!") + countTokens("Tell me about Paris."),
    );
    assert.ok(
      got.text.startsWith(`[simulated gemini-2.5-flash] You said: "Hello! Tell me about Paris.".`),
      got.text,
    );
    assert.equal(tokenize(got.text).length, reported.candidatesTokenCount);
    assert.equal(tokenize(got.reasoning ?? "").length, reported.thoughtsTokenCount);
    assert.equal(got.finishReason, "STOP");
    const s = await statsWhen(sim, (s) => s.streams.completed === 1);
    assert.deepEqual(s.tokens, { prompt: got.usage!.inputTokens, completion: got.usage!.outputTokens });

    // Non-streaming: the same answer and the same usage.
    const plain = geminiAdapter.buildRequest(request, endpoint, false);
    const body = await (await fetch(plain.url, plain.init)).json();
    const completion = geminiAdapter.parseResponse(body);
    assert.equal(completion.text, got.text);
    assert.equal(completion.reasoning, got.reasoning);
    assert.deepEqual(completion.usage, got.usage);

    // A truncated answer is billed for what was generated.
    const short = geminiAdapter.buildRequest({ ...request, maxOutputTokens: 30 }, endpoint, true);
    const cut = await collect(geminiAdapter.parseStream((await fetch(short.url, short.init)).body!));
    assert.equal(cut.finishReason, "MAX_TOKENS");
    assert.equal(cut.usage!.outputTokens, 30);
    assert.equal(tokenize((cut.reasoning ?? "") + cut.text).length, 30);
  });
});

Deno.test("our adapter against the simulator's faults: classified errors, nothing silently billed", async () => {
  await withSim(async (sim) => {
    const endpoint = { baseUrl: sim.url, apiKey: "sim" };
    const request = {
      model: GEMINI_25,
      messages: [{ role: "user" as const, content: "Hi" }],
      maxOutputTokens: 50,
    };
    await setFaults(sim, { mode: "stream_error", afterTokens: 3 });
    const { url, init } = geminiAdapter.buildRequest(request, endpoint, true);
    const err = await collect(geminiAdapter.parseStream((await fetch(url, init)).body!)).catch((e) => e);
    assert.ok(err instanceof ProviderError, String(err));
    assert.equal(err.kind, "error");
    assert.equal(err.status, 500);

    await setFaults(sim, { mode: "cut_stream", afterTokens: 3 });
    const cut = await collect(geminiAdapter.parseStream((await fetch(url, init)).body!)).catch((e) => e);
    assert.ok(cut instanceof Error, "a dropped stream is an error, not a short success");
  });
});
