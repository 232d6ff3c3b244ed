// The simulated OpenAI provider, checked with the official `openai` SDK as its client.
// Each test starts its own simulator (OS-assigned port, no pacing) and closes it, so Deno's
// sanitizers also check that nothing (timers, streams, connections) is left behind.

import assert from "node:assert/strict";
import OpenAI from "openai";
import { type Simulator, startOpenAISimulator } from "../../scripts/simulators/openai.ts";
import type { FaultRuleInput, StatsSnapshot } from "../../scripts/simulators/control.ts";
import { tokenize } from "../../scripts/simulators/tokens.ts";

const FIXTURES = new URL("../../../shared/fixtures/providers/openai/", import.meta.url);
const MODEL = "gpt-4o-mini";
const HELLO: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "Hello!" }];

async function withSim(
  fn: (sim: Simulator, client: OpenAI) => Promise<void>,
  opts: Parameters<typeof startOpenAISimulator>[0] = {},
): Promise<void> {
  const sim = await startOpenAISimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0, ...opts });
  try {
    await fn(sim, new OpenAI({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 }));
  } finally {
    await sim.close();
  }
}

function origin(sim: Simulator): string {
  return sim.url.replace(/\/v1$/, "");
}

async function setFaults(sim: Simulator, rules: FaultRuleInput | FaultRuleInput[]): Promise<void> {
  const res = await fetch(`${origin(sim)}/__simulator/faults`, {
    method: "POST",
    body: JSON.stringify(rules),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
}

async function stats(sim: Simulator): Promise<StatsSnapshot> {
  const res = await fetch(`${origin(sim)}/__simulator/stats`);
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

type Chunk = OpenAI.Chat.ChatCompletionChunk;

async function collect(stream: AsyncIterable<Chunk>): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

/**
 * The whole reply to HELLO, then a stream of the same request (with usage) under the fault `mode`
 * after its first 3 tokens.
 */
async function faultedStream(sim: Simulator, client: OpenAI, mode: "cut_stream" | "early_end") {
  const full = (await client.chat.completions.create({ model: MODEL, messages: HELLO })).choices[0].message
    .content!;
  await setFaults(sim, { mode, afterTokens: 3 });
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: HELLO,
    stream: true,
    stream_options: { include_usage: true },
  });
  return { full, stream };
}

function joinDeltas(chunks: Chunk[]): string {
  return chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
}

Deno.test("non-streaming: simulated, deterministic reply with consistent usage", async () => {
  await withSim(async (_sim, client) => {
    const res = await client.chat.completions.create({ model: MODEL, messages: HELLO });
    assert.equal(res.object, "chat.completion");
    assert.match(res.id, /^chatcmpl-/);
    assert.equal(res.model, MODEL);
    assert.equal(res.choices.length, 1);
    const choice = res.choices[0];
    assert.equal(choice.finish_reason, "stop");
    assert.equal(choice.message.role, "assistant");
    const content = choice.message.content ?? "";
    assert.ok(content.startsWith(`[simulated ${MODEL}] You said: "Hello!".`), content);
    // Filler sentences make a realistic length, within the 40-token default budget.
    const pieces = tokenize(content);
    assert.ok(pieces.length > 20 && pieces.length <= 40, `${pieces.length} tokens`);

    assert.ok(res.usage);
    assert.equal(res.usage.completion_tokens, pieces.length);
    // 3 (reply priming) + 3 (per message) + 1 ("user") + 2 ("Hello", "!")
    assert.equal(res.usage.prompt_tokens, 9);
    assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    assert.deepEqual(res.usage.prompt_tokens_details, { cached_tokens: 0, audio_tokens: 0 });
    assert.equal(res.usage.completion_tokens_details?.reasoning_tokens, 0);

    const again = await client.chat.completions.create({ model: MODEL, messages: HELLO });
    assert.equal(again.choices[0].message.content, content, "same input, same reply");
    assert.notEqual(again.id, res.id);

    const other = await client.chat.completions.create({
      model: "deepseek-chat",
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What is 2+2?" }],
    });
    assert.equal(other.model, "deepseek-chat", "any model id is accepted and echoed");
    assert.ok(
      other.choices[0].message.content?.startsWith(`[simulated deepseek-chat] You said: "What is 2+2?".`),
    );
    // priming 3; system: 3 + 1 ("system") + 3 ("Be", " brief", "."); user: 3 + 1 + its pieces
    assert.equal(other.usage?.prompt_tokens, 3 + (3 + 1 + 3) + (3 + 1 + tokenize("What is 2+2?").length));
  });
});

Deno.test("streaming with include_usage: same text as non-streaming, usage chunk last", async () => {
  await withSim(async (_sim, client) => {
    const full = await client.chat.completions.create({ model: MODEL, messages: HELLO });
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    assert.ok(chunks.length > 3);
    const id = chunks[0].id;
    for (const c of chunks) {
      assert.equal(c.object, "chat.completion.chunk");
      assert.equal(c.id, id);
      assert.equal(c.model, MODEL);
    }
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    assert.equal(joinDeltas(chunks), full.choices[0].message.content);

    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, full.usage);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null, "other chunks carry usage: null");

    const finish = chunks.at(-2)!;
    assert.equal(finish.choices[0].finish_reason, "stop");
    assert.deepEqual(finish.choices[0].delta, {});
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
    // No pacing → one token per content chunk, so the chunks can be counted against usage.
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    assert.equal(contentChunks.length, full.usage?.completion_tokens);
  });
});

Deno.test("streaming without include_usage: no usage anywhere", async () => {
  await withSim(async (_sim, client) => {
    const chunks = await collect(
      await client.chat.completions.create({ model: MODEL, messages: HELLO, stream: true }),
    );
    assert.ok(chunks.every((c) => !("usage" in c)), "no usage field at all, like OpenAI");
    assert.ok(chunks.every((c) => c.choices.length === 1), "no empty-choices usage chunk");
    assert.equal(chunks.at(-1)!.choices[0].finish_reason, "stop");
    assert.ok(joinDeltas(chunks).startsWith(`[simulated ${MODEL}]`));
  });
});

Deno.test("wire format matches the recorded OpenAI stream and completion", async () => {
  await withSim(async (sim) => {
    const recorded = (await Deno.readTextFile(new URL("chat-text-include-usage.sse", FIXTURES)))
      .split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)));
    const res = await fetch(`${sim.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sim", "content-type": "application/json" },
      body: JSON.stringify({
        model: MODEL,
        messages: HELLO,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const raw = await res.text();
    assert.ok(raw.endsWith("data: [DONE]\n\n"), "ends with [DONE]");
    const events = raw.split("\n\n").filter((e) => e !== "");
    assert.ok(events.every((e) => e.startsWith("data: ")), "only data: events");
    const ours = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));

    const keys = (o: object) => Object.keys(o);
    // first (role) chunk, a content chunk, the finish chunk, the usage chunk: same keys in the same order
    for (
      const [mine, theirs] of [
        [ours[0], recorded[0]],
        [ours[1], recorded[1]],
        [ours.at(-2), recorded.at(-2)],
        [ours.at(-1), recorded.at(-1)],
      ]
    ) {
      assert.deepEqual(keys(mine), keys(theirs));
      if (mine.choices.length) {
        assert.deepEqual(keys(mine.choices[0]), keys(theirs.choices[0]));
        assert.deepEqual(keys(mine.choices[0].delta), keys(theirs.choices[0].delta));
      }
    }
    assert.deepEqual(ours[0].choices[0].delta, { role: "assistant", content: "", refusal: null });
    const usageKeys = (
      u: Record<string, object>,
    ) => [keys(u), keys(u.prompt_tokens_details), keys(u.completion_tokens_details)];
    assert.deepEqual(usageKeys(ours.at(-1).usage), usageKeys(recorded.at(-1).usage));

    const recordedJson = JSON.parse(await Deno.readTextFile(new URL("chat-text.json", FIXTURES)));
    const plain = await fetch(`${sim.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sim" },
      body: JSON.stringify({ model: MODEL, messages: HELLO }),
    });
    const body = await plain.json();
    assert.deepEqual(keys(body), keys(recordedJson));
    assert.deepEqual(keys(body.choices[0]), keys(recordedJson.choices[0]));
    assert.deepEqual(keys(body.choices[0].message), keys(recordedJson.choices[0].message));
    assert.deepEqual(usageKeys(body.usage), usageKeys(recordedJson.usage));
  });
});

Deno.test("max_tokens / max_completion_tokens truncate with finish_reason length", async () => {
  await withSim(async (_sim, client) => {
    const full = (await client.chat.completions.create({ model: MODEL, messages: HELLO })).choices[0].message
      .content!;
    const short = await client.chat.completions.create({ model: MODEL, messages: HELLO, max_tokens: 5 });
    assert.equal(short.choices[0].finish_reason, "length");
    assert.equal(short.usage?.completion_tokens, 5);
    assert.equal(short.choices[0].message.content, tokenize(full).slice(0, 5).join(""));

    const chunks = await collect(
      await client.chat.completions.create({
        model: MODEL,
        messages: HELLO,
        max_completion_tokens: 7,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    assert.equal(chunks.at(-1)!.usage?.completion_tokens, 7);
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, "length");
    assert.equal(joinDeltas(chunks), tokenize(full).slice(0, 7).join(""));

    // A limit above the reply's length changes nothing.
    const roomy = await client.chat.completions.create({ model: MODEL, messages: HELLO, max_tokens: 1000 });
    assert.equal(roomy.choices[0].finish_reason, "stop");
    assert.equal(roomy.choices[0].message.content, full);
  });
});

Deno.test("stop sequences end the reply before the match", async () => {
  await withSim(async (_sim, client) => {
    const res = await client.chat.completions.create({
      model: MODEL,
      messages: HELLO,
      stop: [" said", "zzz"],
    });
    assert.equal(res.choices[0].message.content, `[simulated ${MODEL}] You`);
    assert.equal(res.choices[0].finish_reason, "stop");
    assert.equal(res.usage?.completion_tokens, tokenize(`[simulated ${MODEL}] You`).length);
  });
});

Deno.test("429 fault → RateLimitError with retry-after; one retry then succeeds", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 2 });
    const err = await client.chat.completions.create({ model: MODEL, messages: HELLO }).then(
      () => assert.fail("expected a 429"),
      (e) => e,
    );
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.headers.get("retry-after"), "2");
    assert.equal(err.headers.get("x-ratelimit-remaining-requests"), "0");
    assert.equal(err.code, "rate_limit_exceeded");
    assert.equal(err.type, "requests");
    assert.match(err.message, /Rate limit reached for gpt-4o-mini/);

    // The fault was one-shot: the next request is fine.
    const ok = await client.chat.completions.create({ model: MODEL, messages: HELLO });
    assert.equal(ok.choices[0].finish_reason, "stop");

    // With maxRetries 1 the SDK waits retry-after (0 s here), retries, and succeeds.
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 0 });
    const retrying = new OpenAI({ apiKey: "sim", baseURL: sim.url, maxRetries: 1 });
    const before = await stats(sim);
    const res = await retrying.chat.completions.create({ model: MODEL, messages: HELLO });
    assert.equal(res.choices[0].message.content, ok.choices[0].message.content);
    const after = await stats(sim);
    assert.equal(after.requests - before.requests, 2, "one 429 and one retry");
    assert.equal(after.byStatus["429"], 2);
    assert.equal(after.faults.rate_limit, 2);
  });
});

Deno.test("500 and 503 faults → InternalServerError; fault plan order and model filter", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "server_error" });
    const err = await client.chat.completions.create({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(err instanceof OpenAI.InternalServerError, String(err));
    assert.equal(err.status, 500);
    assert.equal(err.type, "server_error");

    await setFaults(sim, { mode: "unavailable", count: 2 });
    for (let i = 0; i < 2; i++) {
      const e = await client.chat.completions.create({ model: MODEL, messages: HELLO, stream: true }).catch((
        e,
      ) => e);
      assert.ok(e instanceof OpenAI.InternalServerError);
      assert.equal(e.status, 503);
    }
    await client.chat.completions.create({ model: MODEL, messages: HELLO }); // count used up

    // Two pass, the third fails; a rule with a model only hits that model.
    await setFaults(sim, [{ mode: "none", count: 2 }, { mode: "server_error", model: "o1" }]);
    await client.chat.completions.create({ model: MODEL, messages: HELLO });
    await client.chat.completions.create({ model: MODEL, messages: HELLO });
    await client.chat.completions.create({ model: MODEL, messages: HELLO }); // not o1
    const o1 = await client.chat.completions.create({ model: "o1", messages: HELLO }).catch((e) => e);
    assert.equal(o1?.status, 500);

    // DELETE clears the plan.
    await setFaults(sim, { mode: "server_error", count: "always" });
    const del = await fetch(`${origin(sim)}/__simulator/faults`, { method: "DELETE" });
    assert.deepEqual(await del.json(), { faults: [] });
    await client.chat.completions.create({ model: MODEL, messages: HELLO });

    const s = await stats(sim);
    assert.equal(s.byStatus["500"], 2);
    assert.equal(s.byStatus["503"], 2);
  });
});

Deno.test("401 without an API key → AuthenticationError", async () => {
  await withSim(async (sim) => {
    const noKey = new OpenAI({
      apiKey: "unused",
      baseURL: sim.url,
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    const err = await noKey.chat.completions.create({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
    assert.equal(err.status, 401);
    assert.equal(err.type, "invalid_request_error");
    assert.match(err.message, /You didn't provide an API key/);

    const models = await noKey.models.list().catch((e) => e);
    assert.ok(models instanceof OpenAI.AuthenticationError);

    const empty = await fetch(`${sim.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer " },
      body: JSON.stringify({ model: MODEL, messages: HELLO }),
    });
    assert.equal(empty.status, 401);
    const body = await empty.json();
    assert.deepEqual(Object.keys(body.error), ["message", "type", "param", "code"]);
  });
});

Deno.test("400 on a bad body → BadRequestError with param", async () => {
  await withSim(async (sim, client) => {
    const bad = async (body: unknown) => {
      const e = await client.chat.completions.create(
        body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
      )
        .catch((e) => e);
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.type, "invalid_request_error");
      return e as InstanceType<typeof OpenAI.BadRequestError>;
    };
    assert.equal((await bad({ messages: HELLO })).param, "model");
    assert.equal((await bad({ messages: HELLO })).code, "missing_required_parameter");
    assert.equal((await bad({ model: MODEL })).param, "messages");
    assert.equal((await bad({ model: MODEL, messages: [] })).code, "empty_array");
    assert.equal((await bad({ model: MODEL, messages: "hi" })).code, "invalid_type");
    assert.equal(
      (await bad({ model: MODEL, messages: [{ role: "robot", content: "x" }] })).param,
      "messages[0].role",
    );
    assert.equal((await bad({ model: MODEL, messages: HELLO, n: 2 })).param, "n");
    assert.equal((await bad({ model: MODEL, messages: HELLO, max_tokens: 0 })).param, "max_tokens");
    assert.equal(
      (await bad({ model: MODEL, messages: HELLO, stream_options: { include_usage: true } })).param,
      "stream_options",
    );

    const notJson = await fetch(`${sim.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sim" },
      body: "{not json",
    });
    assert.equal(notJson.status, 400);
    assert.match((await notJson.json()).error.message, /could not parse the JSON body/);

    const s = await stats(sim);
    assert.equal(s.byStatus["400"], 10);
    assert.equal(s.byStatus["200"], undefined, "no request got through");
  });
});

Deno.test("cut_stream: the SDK's stream iteration throws after the first tokens, with no finish_reason", async () => {
  await withSim(async (sim, client) => {
    const { full, stream } = await faultedStream(sim, client, "cut_stream");
    const chunks: Chunk[] = [];
    const err = await (async () => {
      for await (const c of stream) chunks.push(c);
    })().then(() => undefined, (e) => e);
    // The dropped connection surfaces as the runtime fetch's body-read error, not wrapped by the SDK.
    assert.ok(err instanceof TypeError, String(err));
    assert.match(err.message, /error reading a body from connection/);
    assert.equal(joinDeltas(chunks), tokenize(full).slice(0, 3).join(""));
    assert.ok(chunks.every((c) => !c.choices[0]?.finish_reason), "no finish_reason");
    assert.ok(chunks.every((c) => !c.usage), "no usage");
    const s = await statsWhen(sim, (s) => s.streams.cut === 1);
    assert.equal(s.streams.cut, 1);
    assert.equal(s.faults.cut_stream, 1);

    // Non-streaming: half of the JSON body, then the connection drops → the SDK raises.
    await setFaults(sim, { mode: "cut_stream" });
    const e2 = await client.chat.completions.create({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(e2 instanceof TypeError, String(e2));
    assert.match(e2.message, /error reading a body from connection/);
  });
});

Deno.test("early_end: the stream closes in good order after the first tokens, with no finish_reason", async () => {
  await withSim(async (sim, client) => {
    const { full, stream } = await faultedStream(sim, client, "early_end");
    // The SDK sees a clean end: nothing but the missing finish tells the answer is not whole.
    const chunks = await collect(stream);
    assert.equal(joinDeltas(chunks), tokenize(full).slice(0, 3).join(""));
    assert.ok(chunks.every((c) => !c.choices[0]?.finish_reason), "no finish_reason");
    assert.ok(chunks.every((c) => !c.usage), "no usage");
    const s = await statsWhen(sim, (s) => s.streams.endedEarly === 1);
    assert.equal(s.streams.endedEarly, 1);
    assert.equal(s.streams.completed, 0, "not counted as completed");
    assert.equal(s.faults.early_end, 1);

    // Non-streaming: the whole answer's JSON, its finish_reason null.
    await setFaults(sim, { mode: "early_end" });
    const whole = await client.chat.completions.create({ model: MODEL, messages: HELLO });
    assert.equal(whole.choices[0].message.content, full);
    assert.equal(whole.choices[0].finish_reason, null);
  });
});

Deno.test("stream_error: an error event mid-stream makes the SDK throw APIError", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "stream_error", afterTokens: 2 });
    const stream = await client.chat.completions.create({ model: MODEL, messages: HELLO, stream: true });
    const chunks: Chunk[] = [];
    const err = await (async () => {
      for await (const c of stream) chunks.push(c);
    })().then(() => undefined, (e) => e);
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.equal(err.type, "server_error");
    assert.equal(chunks.filter((c) => c.choices[0]?.delta.content).length, 2);
    assert.equal((await statsWhen(sim, (s) => s.streams.errored === 1)).streams.errored, 1);
  });
});

Deno.test("stall: tokens stop without the stream closing; breaking out stops the server side", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "stall", afterTokens: 2 });
    const stream = await client.chat.completions.create({ model: MODEL, messages: HELLO, stream: true });
    const it = stream[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.choices[0].delta.role, "assistant");
    assert.ok((await it.next()).value?.choices[0].delta.content);
    assert.ok((await it.next()).value?.choices[0].delta.content);
    const next = it.next();
    const timeout = new Promise<"silent">((r) => setTimeout(() => r("silent"), 300));
    assert.equal(await Promise.race([next, timeout]), "silent", "nothing more arrives");
    assert.equal((await stats(sim)).streams.stalled, 1);
    stream.controller.abort(); // the client gives up
    await next.catch(() => {});
    const s = await statsWhen(sim, (s) => s.active === 0);
    assert.equal(s.active, 0);
    assert.equal(s.streams.aborted, 1);
  });
});

Deno.test("client disconnect mid-stream stops generation (paced stream)", async () => {
  await withSim(async (sim, client) => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: HELLO, stream: true });
    let n = 0;
    for await (const _ of stream) if (++n === 3) break; // the SDK aborts the request
    const s = await statsWhen(sim, (s) => s.active === 0);
    assert.equal(s.active, 0);
    assert.equal(s.streams.aborted, 1);
    assert.equal(s.streams.completed, 0);
  }, { tokensPerSecond: 20 });
});

Deno.test("close() ends a stalled stream and a stalled non-streaming request", async () => {
  const sim = await startOpenAISimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0 });
  const client = new OpenAI({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 });
  await setFaults(sim, [{ mode: "stall", afterTokens: 1 }, { mode: "stall" }]);
  const stream = await client.chat.completions.create({ model: MODEL, messages: HELLO, stream: true });
  const reading = collect(stream).then(() => "ended", (e) => e);
  const waiting = client.chat.completions.create({ model: MODEL, messages: HELLO }).then(
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
  await withSim(async (_sim, client) => {
    let t0 = performance.now();
    await client.chat.completions.create({ model: MODEL, messages: HELLO });
    assert.ok(performance.now() - t0 >= 150, "default latency from the options");

    t0 = performance.now();
    const stream = await client.chat.completions.create(
      { model: MODEL, messages: HELLO, stream: true, max_tokens: 10 },
      { headers: { "x-simulator-latency-ms": "0", "x-simulator-tps": "50" } },
    );
    const times: number[] = [];
    for await (const c of stream) if (c.choices[0]?.delta.content) times.push(performance.now() - t0);
    assert.equal(times.length, 10);
    // 10 tokens at 50/s: 9 gaps of 20 ms after the first token.
    assert.ok(times[9] - times[0] >= 9 * 20 - 5, `spread ${times[9] - times[0]} ms`);
    assert.ok(times[0] < 150, `first token at ${times[0]} ms (latency header 0)`);
  }, { firstTokenLatencyMs: 150 });
});

Deno.test("models.list() and models.retrieve() in OpenAI's shape, marked as simulated", async () => {
  await withSim(async (_sim, client) => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      assert.equal(m.object, "model");
      assert.equal(m.owned_by, "nexus-simulator");
      ids.push(m.id);
    }
    assert.ok(ids.includes("gpt-4o-mini") && ids.includes("gpt-4o"), ids.join());
    const one = await client.models.retrieve("anything-at-all");
    assert.equal(one.id, "anything-at-all");
  });
  await withSim(async (_sim, client) => {
    const page = await client.models.list();
    assert.deepEqual(page.data.map((m) => m.id), ["deepseek-chat", "deepseek-reasoner"]);
  }, { models: ["deepseek-chat", "deepseek-reasoner"] });
});

Deno.test("control API: invalid rules are rejected, stats can be reset", async () => {
  await withSim(async (sim, client) => {
    const bad = await fetch(`${origin(sim)}/__simulator/faults`, {
      method: "POST",
      body: JSON.stringify({ mode: "explode" }),
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    await client.chat.completions.create({ model: MODEL, messages: HELLO });
    const s = await stats(sim);
    assert.equal(s.requests, 1, "control calls are not counted");
    assert.deepEqual(s.byStatus, { "200": 1 });
    assert.ok(s.tokens.completion > 0);
    const reset = await fetch(`${origin(sim)}/__simulator/stats`, { method: "DELETE" });
    assert.equal((await reset.json()).requests, 0);
    const unknown = await fetch(`${sim.url}/embeddings`, {
      method: "POST",
      headers: { authorization: "Bearer x" },
    });
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).error.message, /Invalid URL \(POST \/v1\/embeddings\)/);
  });
});
