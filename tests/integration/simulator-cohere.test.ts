// The simulated Cohere provider, checked with the official `cohere-ai` SDK (v8, CohereClientV2)
// as its client, and with our own Cohere adapter. Each test starts its own simulator
// (OS-assigned port, no pacing) and closes it, so Deno's sanitizers also check that nothing
// (timers, streams, connections) is left behind.
//
// The SDK runs under Deno as it is: `environment` (or `baseUrl`) is the API root and the SDK
// appends "v2/chat"; `maxRetries: 0` turns its retries off. It hands back snake_case fields
// as camelCase (finish_reason → finishReason, billed_units → billedUnits).

import assert from "node:assert/strict";
import { Cohere, CohereClientV2, CohereError, CohereTimeoutError } from "cohere-ai";
import {
  type CohereSimulatorOptions,
  END_OF_TURN_TOKENS,
  PROMPT_TEMPLATE_TOKENS,
  type Simulator,
  startCohereSimulator,
} from "../../scripts/simulators/cohere.ts";
import type { FaultRuleInput, StatsSnapshot } from "../../scripts/simulators/control.ts";
import { countTokens, tokenize, TOKENS_PER_MESSAGE } from "../../scripts/simulators/tokens.ts";
import { cohereAdapter } from "../../supabase/functions/_shared/providers/cohere/adapter.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import { ProviderError } from "../../supabase/functions/_shared/providers/types.ts";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";

const MODEL = "command-r-plus-08-2024";
const HELLO: Cohere.ChatMessages = [{ role: "user", content: "Hello!" }];

type StreamEvent = Cohere.V2ChatStreamResponse;

async function withSim(
  fn: (sim: Simulator, client: CohereClientV2) => Promise<void>,
  opts: CohereSimulatorOptions = {},
): Promise<void> {
  const sim = await startCohereSimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0, ...opts });
  try {
    await fn(sim, new CohereClientV2({ token: opts.apiKey ?? "sim", environment: sim.url, maxRetries: 0 }));
  } finally {
    await sim.close();
  }
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

/** Reads a stream to its end; the error it ended with, if any. */
async function drain(
  stream: AsyncIterable<StreamEvent>,
): Promise<{ events: StreamEvent[]; error?: unknown }> {
  const events: StreamEvent[] = [];
  try {
    for await (const e of stream) events.push(e);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

function deltas(events: StreamEvent[]): string[] {
  return events.flatMap((e) => e.type === "content-delta" ? [e.delta?.message?.content?.text ?? ""] : []);
}

/** The usage the simulator's rule gives (see scripts/simulators/cohere.ts). */
function expectedUsage(billedInput: number, billedOutput: number, messages = 1) {
  return {
    billedUnits: { inputTokens: billedInput, outputTokens: billedOutput },
    tokens: {
      inputTokens: billedInput + PROMPT_TEMPLATE_TOKENS + TOKENS_PER_MESSAGE * messages,
      outputTokens: billedOutput + END_OF_TURN_TOKENS,
    },
    cachedTokens: PROMPT_TEMPLATE_TOKENS,
  };
}

function textOf(res: Cohere.V2ChatResponse): string {
  return (res.message.content ?? []).map((c) => c.type === "text" ? c.text : "").join("");
}

Deno.test("chat: simulated, deterministic reply; usage billed_units follow the tokenizer", async () => {
  await withSim(async (sim, client) => {
    const res = await client.chat({ model: MODEL, messages: HELLO });
    assert.match(res.id, /^[0-9a-f-]{36}$/);
    assert.equal(res.finishReason, "COMPLETE");
    assert.equal(res.message.role, "assistant");
    assert.equal(res.message.content?.length, 1);
    const text = textOf(res);
    assert.ok(text.startsWith(`[simulated ${MODEL}] You said: "Hello!".`), text);
    assert.ok(tokenize(text).length <= 40, "within the default reply budget");
    assert.deepEqual(res.usage, expectedUsage(countTokens("Hello!"), tokenize(text).length));
    // What is processed is more than what is billed, as with the real API.
    assert.ok(res.usage!.tokens!.inputTokens! > res.usage!.billedUnits!.inputTokens!);

    const again = await client.chat({ model: MODEL, messages: HELLO });
    assert.equal(textOf(again), text, "same request, same reply");

    // Every message's text is billed input: system, history and the question.
    const convo: Cohere.ChatMessages = [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "What is 2 + 2?" },
      { role: "assistant", content: "4." },
      { role: "user", content: [{ type: "text", text: "And 3 + 3?" }] },
    ];
    const multi = await client.chat({ model: MODEL, messages: convo });
    const billed = countTokens("Answer briefly.") + countTokens("What is 2 + 2?") + countTokens("4.") +
      countTokens("And 3 + 3?");
    assert.deepEqual(multi.usage, expectedUsage(billed, tokenize(textOf(multi)).length, 4));
    assert.match(textOf(multi), /You said: "And 3 \+ 3\?"/);

    const s = await stats(sim);
    assert.equal(s.requests, 3);
    assert.deepEqual(s.byStatus, { "200": 3 });
    assert.equal(s.tokens.prompt, 2 * countTokens("Hello!") + billed, "stats count billed_units");
  });
});

Deno.test("chatStream: the fixtures' event sequence; joined deltas equal the non-streamed text", async () => {
  await withSim(async (sim, client) => {
    const full = await client.chat({ model: MODEL, messages: HELLO });
    const { events, error } = await drain(await client.chatStream({ model: MODEL, messages: HELLO }));
    assert.equal(error, undefined);
    const types = events.map((e) => e.type);
    const n = tokenize(textOf(full)).length;
    assert.deepEqual(types, [
      "message-start",
      "content-start",
      ...Array(n).fill("content-delta"),
      "content-end",
      "message-end",
    ]);
    const start = events[0] as Cohere.V2ChatStreamResponse.MessageStart;
    assert.match(start.id!, /^[0-9a-f-]{36}$/);
    assert.equal(start.delta?.message?.role, "assistant");
    const contentStart = events[1] as Cohere.V2ChatStreamResponse.ContentStart;
    assert.equal(contentStart.index, 0);
    assert.equal(contentStart.delta?.message?.content?.type, "text");
    // One token per content-delta, joined they are the non-streamed answer.
    assert.deepEqual(deltas(events), tokenize(textOf(full)));
    assert.equal(deltas(events).join(""), textOf(full));
    const end = events.at(-1) as Cohere.V2ChatStreamResponse.MessageEnd;
    assert.equal(end.delta?.finishReason, "COMPLETE");
    assert.deepEqual(end.delta?.usage, full.usage);
    const s = await statsWhen(sim, (s) => s.streams.completed === 1);
    assert.equal(s.streams.started, 1);
    assert.equal(s.active, 0);

    // On the wire: `event:` names equal the JSON's type, as in the recorded fixtures.
    const raw = await fetch(`${sim.url}/v2/chat`, {
      method: "POST",
      headers: { authorization: "Bearer sim", "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: HELLO, stream: true, max_tokens: 2 }),
    });
    assert.match(raw.headers.get("content-type") ?? "", /^text\/event-stream/);
    const blocks = (await raw.text()).trim().split("\n\n");
    for (const block of blocks) {
      const [eventLine, dataLine] = block.split("\n");
      assert.equal(eventLine, `event: ${JSON.parse(dataLine.slice("data: ".length)).type}`);
    }
    assert.equal(
      blocks.at(-1),
      `event: message-end\ndata: {"type":"message-end","delta":{"finish_reason":"MAX_TOKENS","usage":` +
        `{"billed_units":{"input_tokens":2,"output_tokens":2},"tokens":{"input_tokens":${
          2 + PROMPT_TEMPLATE_TOKENS + TOKENS_PER_MESSAGE
        },"output_tokens":3},"cached_tokens":${PROMPT_TEMPLATE_TOKENS}}}}`,
    );
  });
});

Deno.test("max_tokens truncates the reply: finish_reason MAX_TOKENS, streamed and not", async () => {
  await withSim(async (_sim, client) => {
    const full = textOf(await client.chat({ model: MODEL, messages: HELLO }));
    const cut = await client.chat({ model: MODEL, messages: HELLO, maxTokens: 4 });
    assert.equal(cut.finishReason, "MAX_TOKENS");
    assert.equal(textOf(cut), tokenize(full).slice(0, 4).join(""));
    assert.deepEqual(cut.usage, expectedUsage(countTokens("Hello!"), 4));

    const { events } = await drain(await client.chatStream({ model: MODEL, messages: HELLO, maxTokens: 4 }));
    assert.equal(deltas(events).join(""), textOf(cut));
    const end = events.at(-1) as Cohere.V2ChatStreamResponse.MessageEnd;
    assert.equal(end.delta?.finishReason, "MAX_TOKENS");
    assert.equal(end.delta?.usage?.billedUnits?.outputTokens, 4);

    // A limit above the reply's length changes nothing.
    const roomy = await client.chat({ model: MODEL, messages: HELLO, maxTokens: 1000 });
    assert.equal(roomy.finishReason, "COMPLETE");
    assert.equal(textOf(roomy), full);
  });
});

Deno.test("stop_sequences end the reply before the match: finish_reason STOP_SEQUENCE", async () => {
  await withSim(async (_sim, client) => {
    const res = await client.chat({ model: MODEL, messages: HELLO, stopSequences: [" said", "zzz"] });
    assert.equal(textOf(res), `[simulated ${MODEL}] You`);
    assert.equal(res.finishReason, "STOP_SEQUENCE");
    assert.equal(res.usage?.billedUnits?.outputTokens, tokenize(`[simulated ${MODEL}] You`).length);
  });
});

Deno.test("429 fault → TooManyRequestsError with retry-after; with a retry the SDK waits and succeeds", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 2 });
    const err = await client.chat({ model: MODEL, messages: HELLO }).then(
      () => assert.fail("expected a 429"),
      (e) => e,
    );
    assert.ok(err instanceof Cohere.TooManyRequestsError, String(err));
    assert.ok(err instanceof CohereError);
    assert.equal(err.statusCode, 429);
    assert.equal(err.rawResponse?.headers.get("retry-after"), "2");
    const body = err.body as { id: string; message: string };
    assert.deepEqual(Object.keys(body), ["id", "message"]);
    assert.match(body.message, /past the per minute request limit/);

    // The fault was one-shot: the next request is fine.
    assert.equal((await client.chat({ model: MODEL, messages: HELLO })).finishReason, "COMPLETE");

    // Streaming requests fail the same way, before any event.
    await setFaults(sim, { mode: "rate_limit" });
    const streamErr = await client.chatStream({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(streamErr instanceof Cohere.TooManyRequestsError, String(streamErr));

    // With maxRetries 1 the SDK honours retry-after (1 s), retries once, and succeeds.
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 1 });
    const retrying = new CohereClientV2({ token: "sim", environment: sim.url, maxRetries: 1 });
    const before = await stats(sim);
    const t0 = performance.now();
    const res = await retrying.chat({ model: MODEL, messages: HELLO });
    assert.ok(performance.now() - t0 >= 950, "waited for retry-after");
    assert.equal(res.finishReason, "COMPLETE");
    const after = await stats(sim);
    assert.equal(after.requests - before.requests, 2, "one 429 and one retry");
    assert.equal(after.byStatus["429"], 3);
  });
});

Deno.test("500 → InternalServerError; 503 (unavailable, overloaded) → ServiceUnavailableError", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "server_error" });
    const err = await client.chat({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(err instanceof Cohere.InternalServerError, String(err));
    assert.equal(err.statusCode, 500);
    assert.match((err.body as { message: string }).message, /^internal server error/);

    await setFaults(sim, { mode: "unavailable", count: 2, retryAfterSeconds: 3 });
    for (let i = 0; i < 2; i++) {
      const e = await client.chatStream({ model: MODEL, messages: HELLO }).catch((e) => e);
      assert.ok(e instanceof Cohere.ServiceUnavailableError, String(e));
      assert.equal(e.statusCode, 503);
      assert.equal(e.rawResponse?.headers.get("retry-after"), "3");
    }
    await client.chat({ model: MODEL, messages: HELLO }); // count used up

    // "overloaded": Cohere has no status of its own for it, so it is the same 503.
    await setFaults(sim, { mode: "overloaded" });
    const over = await client.chat({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(over instanceof Cohere.ServiceUnavailableError, String(over));

    // A rule with a model only hits that model.
    await setFaults(sim, { mode: "server_error", model: "command-a-03-2025" });
    await client.chat({ model: MODEL, messages: HELLO });
    const other = await client.chat({ model: "command-a-03-2025", messages: HELLO }).catch((e) => e);
    assert.ok(other instanceof Cohere.InternalServerError);

    const s = await stats(sim);
    assert.equal(s.byStatus["500"], 2);
    assert.equal(s.byStatus["503"], 3);
  });
});

Deno.test("401: a wrong token → UnauthorizedError 'invalid api token'; none → 'no api key supplied'", async () => {
  await withSim(async (sim) => {
    const wrong = new CohereClientV2({ token: "not-the-key", environment: sim.url, maxRetries: 0 });
    const err = await wrong.chat({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(err instanceof Cohere.UnauthorizedError, String(err));
    assert.equal(err.statusCode, 401);
    assert.equal((err.body as { message: string }).message, "invalid api token");
    const streamErr = await wrong.chatStream({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(streamErr instanceof Cohere.UnauthorizedError, String(streamErr));

    const right = new CohereClientV2({ token: "the-key", environment: sim.url, maxRetries: 0 });
    assert.equal((await right.chat({ model: MODEL, messages: HELLO })).finishReason, "COMPLETE");

    const none = await fetch(`${sim.url}/v2/chat`, {
      method: "POST",
      body: JSON.stringify({ model: MODEL, messages: HELLO }),
    });
    assert.equal(none.status, 401);
    const body = await none.json();
    assert.deepEqual(Object.keys(body), ["id", "message"]);
    assert.equal(body.message, "no api key supplied");
    const basic = await fetch(`${sim.url}/v2/chat`, {
      method: "POST",
      headers: { authorization: "Basic eA==" },
    });
    assert.equal((await basic.json()).message, "invalid api token");
  }, { apiKey: "the-key" });
});

Deno.test("400 on a bad body → BadRequestError; Cohere's 'invalid request: …' messages", async () => {
  await withSim(async (sim, client) => {
    // The SDK checks types itself but not ranges: p must be in [0.01, 0.99].
    const err = await client.chat({ model: MODEL, messages: HELLO, p: 1 }).catch((e) => e);
    assert.ok(err instanceof Cohere.BadRequestError, String(err));
    assert.equal(err.statusCode, 400);
    assert.equal(
      (err.body as { message: string }).message,
      "invalid request: p must be at most 0.99 - received 1",
    );

    const bad = async (body: unknown, message: RegExp) => {
      const res = await fetch(`${sim.url}/v2/chat`, {
        method: "POST",
        headers: { authorization: "Bearer sim" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      assert.equal(res.status, 400);
      const json = await res.json();
      assert.deepEqual(Object.keys(json), ["id", "message"]);
      assert.match(json.message, message);
    };
    await bad({ messages: HELLO }, /^invalid request: model must be specified$/);
    await bad({ model: MODEL }, /^invalid request: messages must be specified$/);
    await bad({ model: MODEL, messages: [] }, /messages must not be empty/);
    await bad(
      { model: MODEL, messages: [{ role: "robot", content: "x" }] },
      /messages\[0\]\.role must be one of/,
    );
    await bad({ model: MODEL, messages: [{ role: "user" }] }, /messages\[0\]\.content must be specified/);
    await bad({ model: MODEL, messages: HELLO, max_tokens: 0 }, /max_tokens must be at least 1/);
    await bad({ model: MODEL, messages: HELLO, stop_sequences: ["a", "b", "c", "d", "e", "f"] }, /at most 5/);
    await bad({ model: MODEL, messages: HELLO, temperature: -1 }, /temperature must be at least 0/);
    await bad("{not json", /not valid JSON/);

    const s = await stats(sim);
    assert.equal(s.byStatus["400"], 10);
    assert.equal(s.byStatus["200"], undefined, "no request got through");

    const unknown = await fetch(`${sim.url}/v1/generate`, {
      method: "POST",
      headers: { authorization: "Bearer x" },
    });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  });
});

Deno.test("cut_stream: the SDK's stream iteration throws the runtime's body error; no message-end", async () => {
  await withSim(async (sim, client) => {
    const full = textOf(await client.chat({ model: MODEL, messages: HELLO }));
    await setFaults(sim, { mode: "cut_stream", afterTokens: 3 });
    const { events, error } = await drain(await client.chatStream({ model: MODEL, messages: HELLO }));
    // The dropped connection surfaces as Deno fetch's body-read TypeError, not wrapped by the SDK.
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /error reading a body from connection/);
    assert.equal(deltas(events).join(""), tokenize(full).slice(0, 3).join(""));
    assert.ok(!events.some((e) => e.type === "message-end"), "no message-end, so no usage");
    const s = await statsWhen(sim, (s) => s.streams.cut === 1);
    assert.equal(s.streams.cut, 1);
    assert.equal(s.faults.cut_stream, 1);

    // Non-streaming: half of the JSON body, then the drop → the SDK raises a plain CohereError
    // (no status code) carrying the runtime's message.
    await setFaults(sim, { mode: "cut_stream" });
    const e2 = await client.chat({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(e2 instanceof CohereError, String(e2));
    assert.equal(e2.statusCode, undefined);
    assert.match(e2.message, /error reading a body from connection/);

    // Our adapter turns the same cut into an error too (never a silent, unbilled "success").
    await setFaults(sim, { mode: "cut_stream", afterTokens: 2 });
    const { url, init } = cohereAdapter.buildRequest(request(), { baseUrl: sim.url, apiKey: "sim" }, true);
    const res = await fetch(url, init);
    const got = await collect(cohereAdapter.parseStream(res.body!)).catch((e) => e);
    assert.ok(got instanceof TypeError, String(got));
    assert.match(got.message, /error reading a body from connection/);
  });
});

Deno.test("stream_error: message-end with finish_reason ERROR; the SDK yields it, our adapter throws after usage", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "stream_error", afterTokens: 2 });
    const { events, error } = await drain(await client.chatStream({ model: MODEL, messages: HELLO }));
    assert.equal(error, undefined, "the SDK does not throw: the error is an event");
    assert.equal(deltas(events).length, 2);
    const end = events.at(-1) as Cohere.V2ChatStreamResponse.MessageEnd;
    assert.equal(end.type, "message-end");
    assert.equal(end.delta?.finishReason, "ERROR");
    assert.match(end.delta?.error ?? "", /internal server error/);
    assert.equal(end.delta?.usage?.billedUnits?.outputTokens, 2, "what was generated is billed");
    assert.equal((await statsWhen(sim, (s) => s.streams.errored === 1)).streams.errored, 1);

    await setFaults(sim, { mode: "stream_error", afterTokens: 2 });
    const { url, init } = cohereAdapter.buildRequest(request(), { baseUrl: sim.url, apiKey: "sim" }, true);
    const res = await fetch(url, init);
    const seen: string[] = [];
    let usage;
    const err = await (async () => {
      for await (const e of cohereAdapter.parseStream(res.body!)) {
        seen.push(e.type);
        if (e.type === "usage") usage = e.usage;
      }
    })().then(() => undefined, (e) => e);
    assert.ok(err instanceof ProviderError && err.kind === "error", String(err));
    assert.deepEqual(seen, ["text", "text", "usage"]);
    assert.deepEqual(usage, {
      inputTokens: countTokens("Be brief.") + countTokens("Hello!"),
      outputTokens: 2,
      cachedInputTokens: 0,
    });

    // Non-streaming: a plain 500.
    await setFaults(sim, { mode: "stream_error" });
    const e2 = await client.chat({ model: MODEL, messages: HELLO }).catch((e) => e);
    assert.ok(e2 instanceof Cohere.InternalServerError, String(e2));
  });
});

Deno.test("stall: events stop without the stream closing; aborting stops the server side", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "stall", afterTokens: 2 });
    const abort = new AbortController();
    const stream = await client.chatStream({ model: MODEL, messages: HELLO }, { abortSignal: abort.signal });
    const it = stream[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.type, "message-start");
    assert.equal((await it.next()).value?.type, "content-start");
    assert.equal((await it.next()).value?.type, "content-delta");
    assert.equal((await it.next()).value?.type, "content-delta");
    const next = it.next();
    const timeout = new Promise<"silent">((r) => setTimeout(() => r("silent"), 300));
    assert.equal(await Promise.race([next, timeout]), "silent", "nothing more arrives");
    assert.equal((await stats(sim)).streams.stalled, 1);
    abort.abort(); // the client gives up
    await next.catch(() => {});
    await it.return?.(undefined).catch(() => {});
    const s = await statsWhen(sim, (s) => s.active === 0);
    assert.equal(s.active, 0);
    assert.equal(s.streams.aborted, 1);

    // Non-streaming: no answer at all, so the SDK's own timeout fires. The SDK aborts with the
    // string reason "timeout"; Deno's fetch rejects with that reason (as the Fetch spec says),
    // which is not an Error named AbortError, so the SDK reports a plain CohereError whose
    // message is the JSON of the reason, not its CohereTimeoutError.
    await setFaults(sim, { mode: "stall" });
    const t0 = performance.now();
    const e2 = await client.chat({ model: MODEL, messages: HELLO }, { timeoutInSeconds: 0.3 }).catch((e) =>
      e
    );
    assert.ok(performance.now() - t0 >= 250);
    assert.ok(e2 instanceof CohereError, String(e2));
    assert.ok(!(e2 instanceof CohereTimeoutError));
    assert.equal(e2.statusCode, undefined);
    assert.equal(e2.message, '"timeout"');
    assert.equal(e2.cause, "timeout");
  });
});

Deno.test("client disconnect mid-stream stops generation (paced stream)", async () => {
  await withSim(async (sim, client) => {
    const stream = await client.chatStream({ model: MODEL, messages: HELLO });
    let n = 0;
    for await (const _ of stream) if (++n === 4) break; // the SDK cancels the body
    const s = await statsWhen(sim, (s) => s.active === 0);
    assert.equal(s.active, 0);
    assert.equal(s.streams.aborted, 1);
    assert.equal(s.streams.completed, 0);
  }, { tokensPerSecond: 20 });
});

Deno.test("close() ends a stalled stream and a stalled non-streaming request", async () => {
  const sim = await startCohereSimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0 });
  const client = new CohereClientV2({ token: "sim", environment: sim.url, maxRetries: 0 });
  await setFaults(sim, [{ mode: "stall", afterTokens: 1 }, { mode: "stall" }]);
  const stream = await client.chatStream({ model: MODEL, messages: HELLO });
  const reading = drain(stream).then((r) => r.error ?? "ended");
  const waiting = client.chat({ model: MODEL, messages: HELLO }).then(() => "answered", (e) => e);
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
    await client.chat({ model: MODEL, messages: HELLO });
    assert.ok(performance.now() - t0 >= 150, "default latency from the options");

    t0 = performance.now();
    const stream = await client.chatStream(
      { model: MODEL, messages: HELLO, maxTokens: 10 },
      { headers: { "x-simulator-latency-ms": "0", "x-simulator-tps": "50" } },
    );
    const times: number[] = [];
    for await (const e of stream) if (e.type === "content-delta") times.push(performance.now() - t0);
    assert.equal(times.length, 10);
    // 10 tokens at 50/s: 9 gaps of 20 ms after the first token.
    assert.ok(times[9] - times[0] >= 9 * 20 - 5, `spread ${times[9] - times[0]} ms`);
    assert.ok(times[0] < 150, `first token at ${times[0]} ms (latency header 0)`);
  }, { firstTokenLatencyMs: 150 });
});

// ---------------------------------------------------------------------------------------------
// Our adapter against the simulator

const CHAT_MODEL: ChatModel = {
  id: "command-r-plus",
  provider: "cohere",
  vendor: "Cohere",
  name: "Command R+",
  apiModel: MODEL,
  capabilities: ["chat"],
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

function request(maxOutputTokens = 1000) {
  return {
    model: CHAT_MODEL,
    messages: [{ role: "system" as const, content: "Be brief." }, {
      role: "user" as const,
      content: "Hello!",
    }],
    maxOutputTokens,
    temperature: 0.3,
    topP: 1, // clamped to Cohere's 0.99, or the simulator would answer 400
    stop: ["zzz"],
  };
}

Deno.test("our adapter: buildRequest → fetch → parseStream; normalized usage = the billed_units the simulator reported", async () => {
  await withSim(async (sim, client) => {
    const endpoint = { baseUrl: sim.url, apiKey: "sim" };
    const req = request();

    // What the simulator reports for this request (through the SDK, non-streamed).
    const reported = await client.chat({
      model: MODEL,
      messages: req.messages,
      maxTokens: req.maxOutputTokens,
      temperature: 0.3,
      p: 0.99,
      stopSequences: ["zzz"],
    });

    const { url, init } = cohereAdapter.buildRequest(req, endpoint, true);
    const res = await fetch(url, init);
    assert.equal(res.status, 200);
    const got = await collect(cohereAdapter.parseStream(res.body!));
    assert.equal(got.text, textOf(reported));
    assert.equal(got.reasoning, null);
    assert.equal(got.finishReason, "COMPLETE");
    assert.deepEqual(got.usage, {
      inputTokens: reported.usage!.billedUnits!.inputTokens,
      outputTokens: reported.usage!.billedUnits!.outputTokens,
      cachedInputTokens: 0,
    });
    assert.equal(got.usage!.inputTokens, countTokens("Be brief.") + countTokens("Hello!"));
    assert.equal(got.usage!.outputTokens, tokenize(got.text).length);
    assert.notEqual(got.usage!.inputTokens, reported.usage!.tokens!.inputTokens, "`tokens` is not billed");

    // Non-streamed through the adapter: the same answer and the same usage.
    const plain = cohereAdapter.buildRequest(req, endpoint, false);
    const json = await (await fetch(plain.url, plain.init)).json();
    assert.deepEqual(cohereAdapter.parseResponse(json), got);

    // Truncated: MAX_TOKENS, and billed output = the budget.
    const short = cohereAdapter.buildRequest(request(3), endpoint, true);
    const cut = await collect(cohereAdapter.parseStream((await fetch(short.url, short.init)).body!));
    assert.equal(cut.finishReason, "MAX_TOKENS");
    assert.equal(cut.usage!.outputTokens, 3);

    // The simulator's own counters agree with what we would bill.
    const s = await stats(sim);
    assert.equal(s.tokens.completion, 3 * got.usage!.outputTokens + 3);
    assert.equal(s.tokens.prompt, 4 * got.usage!.inputTokens);
  });
});
