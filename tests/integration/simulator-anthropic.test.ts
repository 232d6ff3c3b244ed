// The simulated Anthropic provider, checked with the official `@anthropic-ai/sdk` as its client,
// and our own Anthropic adapter driven against it. Each test starts its own simulator
// (OS-assigned port, no pacing) and closes it, so Deno's sanitizers also check that nothing
// (timers, streams, connections) is left behind.

import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { type Simulator, startAnthropicSimulator } from "../../scripts/simulators/anthropic.ts";
import type { FaultRuleInput, StatsSnapshot } from "../../scripts/simulators/control.ts";
import { estimateMessageTokens, tokenize } from "../../scripts/simulators/tokens.ts";
import { anthropicAdapter } from "../../supabase/functions/_shared/providers/anthropic/adapter.ts";
import { collect as collectEvents } from "../../supabase/functions/_shared/providers/sse.ts";
import { ProviderError, type ProviderEvent } from "../../supabase/functions/_shared/providers/types.ts";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";

// Not one of the SDK's deprecated models (it prints a warning for those).
const MODEL = "claude-haiku-4-5-20251001";
const HELLO: Anthropic.MessageParam[] = [{ role: "user", content: "Hello!" }];
const BASE = { model: MODEL, max_tokens: 1024, messages: HELLO };

async function withSim(
  fn: (sim: Simulator, client: Anthropic) => Promise<void>,
  opts: Parameters<typeof startAnthropicSimulator>[0] = {},
): Promise<void> {
  const sim = await startAnthropicSimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0, ...opts });
  try {
    await fn(sim, new Anthropic({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 }));
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

/** Raw HTTP to the simulator, as our adapter (or any client) sends it. */
function post(sim: Simulator, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sim.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": "sim", "anthropic-version": "2023-06-01", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

type Event = Anthropic.MessageStreamEvent;

/** Runs a stream to its end or its error; the events seen and the error (if any). */
async function drain(stream: AsyncIterable<Event>): Promise<{ events: Event[]; error: unknown }> {
  const events: Event[] = [];
  try {
    for await (const e of stream) events.push(e);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

function textDeltas(events: Event[]): string[] {
  return events.flatMap((e) =>
    e.type === "content_block_delta" && e.delta.type === "text_delta" ? [e.delta.text] : []
  );
}

const textOf = (m: Anthropic.Message) => m.content.map((b) => b.type === "text" ? b.text : "").join("");

Deno.test("non-streaming: simulated, deterministic reply with usage from the tokenizer", async () => {
  await withSim(async (_sim, client) => {
    const res = await client.messages.create(BASE);
    assert.equal(res.type, "message");
    assert.equal(res.role, "assistant");
    assert.equal(res.model, MODEL);
    assert.match(res.id, /^msg_01/);
    assert.match(res._request_id ?? "", /^req_01/);
    assert.equal(res.stop_reason, "end_turn");
    assert.equal(res.stop_sequence, null);
    assert.equal(res.content.length, 1);
    const text = textOf(res);
    assert.ok(text.startsWith(`[simulated ${MODEL}] You said: "Hello!".`), text);
    const pieces = tokenize(text);
    assert.ok(pieces.length > 20 && pieces.length <= 40, `${pieces.length} tokens`);

    // input: 3 (reply priming) + 3 (per message) + 1 ("user") + 2 ("Hello", "!")
    assert.equal(res.usage.input_tokens, 9);
    assert.equal(res.usage.input_tokens, estimateMessageTokens([{ role: "user", texts: ["Hello!"] }]));
    assert.equal(res.usage.output_tokens, pieces.length);
    assert.equal(res.usage.cache_read_input_tokens, 0);
    assert.equal(res.usage.cache_creation_input_tokens, 0);
    assert.deepEqual(res.usage.cache_creation, {
      ephemeral_5m_input_tokens: 0,
      ephemeral_1h_input_tokens: 0,
    });
    assert.equal(res.usage.service_tier, "standard");

    const again = await client.messages.create(BASE);
    assert.equal(textOf(again), text, "same input, same reply");
    assert.notEqual(again.id, res.id);

    // The system prompt counts as one message with role "system" (the OpenAI simulator's count).
    const sys = await client.messages.create({
      ...BASE,
      system: "Be brief.",
      messages: [{ role: "user", content: "What is 2+2?" }],
    });
    assert.ok(textOf(sys).startsWith(`[simulated ${MODEL}] You said: "What is 2+2?".`));
    assert.equal(
      sys.usage.input_tokens,
      estimateMessageTokens([
        { role: "system", texts: ["Be brief."] },
        { role: "user", texts: ["What is 2+2?"] },
      ]),
    );
    const counted = await client.messages.countTokens({
      model: MODEL,
      system: "Be brief.",
      messages: [{ role: "user", content: "What is 2+2?" }],
    });
    assert.equal(counted.input_tokens, sys.usage.input_tokens);
  });
});

Deno.test("streaming: the SDK's text deltas join to the non-streamed text; finalMessage() usage", async () => {
  await withSim(async (_sim, client) => {
    const full = await client.messages.create(BASE);
    const stream = client.messages.stream(BASE);
    const texts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    const final = await stream.finalMessage();
    assert.equal(texts.join(""), textOf(full));
    assert.equal(textOf(final), textOf(full));
    assert.deepEqual(final.usage, full.usage);
    assert.equal(final.stop_reason, "end_turn");
    // No pacing: one token per delta, so the deltas can be counted against usage.
    assert.equal(texts.length, full.usage.output_tokens);

    // The raw events through the SDK (ping is dropped by the SDK).
    const { events, error } = await drain(await client.messages.create({ ...BASE, stream: true }));
    assert.equal(error, undefined);
    assert.deepEqual(
      [...new Set(events.map((e) => e.type))],
      [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
      ],
    );
    const start = events[0] as Anthropic.RawMessageStartEvent;
    assert.equal(start.message.usage.input_tokens, 9);
    assert.equal(start.message.usage.output_tokens, 1, "a placeholder, as Anthropic sends it");
    const delta = events.at(-2) as Anthropic.RawMessageDeltaEvent;
    assert.equal(delta.usage.output_tokens, full.usage.output_tokens);
    assert.equal(delta.usage.input_tokens, 9);
  });
});

Deno.test("the wire: named events in the recorded fixtures' order and shapes", async () => {
  await withSim(async (sim) => {
    const res = await post(sim, { ...BASE, stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.match(res.headers.get("request-id") ?? "", /^req_01/);
    assert.equal(res.headers.get("anthropic-ratelimit-requests-limit"), "4000");
    const raw = await res.text();
    const frames = raw.split("\n\n").filter(Boolean).map((f) => {
      const m = /^event: (\w+)\ndata: (.*)$/.exec(f);
      assert.ok(m, `frame: ${JSON.stringify(f)}`);
      const data = JSON.parse(m[2]);
      assert.equal(data.type, m[1], "event name = data type");
      return data;
    });
    const types = frames.map((f) => f.type);
    const n = types.filter((t) => t === "content_block_delta").length;
    assert.deepEqual(types, [
      "message_start",
      "content_block_start",
      "ping",
      ...Array(n).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    assert.deepEqual(Object.keys(frames[0].message), [
      "model",
      "id",
      "type",
      "role",
      "content",
      "stop_reason",
      "stop_sequence",
      "usage",
    ]);
    assert.deepEqual(frames[1].content_block, { type: "text", text: "" });
    assert.deepEqual(frames.at(-2), {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: {
        input_tokens: 9,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: n,
      },
    });
  });
});

Deno.test("max_tokens truncates (stop_reason max_tokens); stop_sequences end the reply", async () => {
  await withSim(async (_sim, client) => {
    const full = textOf(await client.messages.create(BASE));
    const short = await client.messages.create({ ...BASE, max_tokens: 5 });
    assert.equal(short.stop_reason, "max_tokens");
    assert.equal(short.usage.output_tokens, 5);
    assert.equal(textOf(short), tokenize(full).slice(0, 5).join(""));

    const streamed = await client.messages.stream({ ...BASE, max_tokens: 5 }).finalMessage();
    assert.equal(streamed.stop_reason, "max_tokens");
    assert.deepEqual(streamed.usage, short.usage);
    assert.equal(textOf(streamed), textOf(short));

    const stopped = await client.messages.create({ ...BASE, stop_sequences: ["Hello", "zzz"] });
    assert.equal(stopped.stop_reason, "stop_sequence");
    assert.equal(stopped.stop_sequence, "Hello");
    assert.equal(textOf(stopped), full.slice(0, full.indexOf("Hello")));
    assert.equal(stopped.usage.output_tokens, tokenize(textOf(stopped)).length);

    // Empty and whitespace-only stop sequences are refused, in Anthropic's words.
    for (
      const [stop_sequences, message] of [
        [["END", ""], "stop_sequences: each stop sequence must be non-empty"],
        [["END", "\n"], "stop_sequences: each stop sequence must contain non-whitespace"],
        [[" \t"], "stop_sequences: each stop sequence must contain non-whitespace"],
      ] as const
    ) {
      const err = await client.messages.create({ ...BASE, stop_sequences: [...stop_sequences] }).catch((e) =>
        e
      );
      assert.ok(err instanceof Anthropic.BadRequestError, String(err));
      assert.deepEqual((err.error as { error?: unknown }).error, { type: "invalid_request_error", message });
    }
  });
});

Deno.test("extended thinking: a thinking block first, its tokens billed as output", async () => {
  await withSim(async (_sim, client) => {
    const plain = await client.messages.create(BASE);
    const params = { ...BASE, max_tokens: 2048, thinking: { type: "enabled" as const, budget_tokens: 1024 } };
    const res = await client.messages.create(params);
    assert.deepEqual(res.content.map((b) => b.type), ["thinking", "text"]);
    const thinking = res.content[0] as Anthropic.ThinkingBlock;
    assert.ok(thinking.thinking.length > 0 && thinking.signature.length > 0);
    assert.equal(textOf(res), textOf(plain));
    assert.equal(res.usage.output_tokens, tokenize(thinking.thinking).length + plain.usage.output_tokens);

    const stream = client.messages.stream(params);
    const thoughts: string[] = [];
    stream.on("thinking", (t) => thoughts.push(t));
    const final = await stream.finalMessage();
    assert.equal(thoughts.join(""), thinking.thinking);
    assert.deepEqual(final.content, res.content);
    assert.deepEqual(final.usage, res.usage);
  });
});

Deno.test("429 → RateLimitError with retry-after and rate-limit headers; the SDK retries after it", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 7 });
    const err = await client.messages.create(BASE).catch((e) => e);
    assert.ok(err instanceof Anthropic.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.type, "rate_limit_error");
    assert.equal(err.headers?.get("retry-after"), "7");
    assert.equal(err.headers?.get("anthropic-ratelimit-requests-remaining"), "0");
    assert.ok(err.headers?.get("anthropic-ratelimit-requests-reset"));
    assert.match(err.requestID ?? "", /^req_01/);
    assert.equal((err.error as { request_id?: string }).request_id, err.requestID, "body and header agree");

    // One-shot: the next request is fine. With maxRetries 1 the SDK waits and retries.
    await setFaults(sim, { mode: "rate_limit", retryAfterSeconds: 0.05 });
    const retrying = new Anthropic({ apiKey: "sim", baseURL: sim.url, maxRetries: 1 });
    const before = await stats(sim);
    const res = await retrying.messages.create(BASE);
    assert.equal(res.stop_reason, "end_turn");
    const after = await stats(sim);
    assert.equal(after.requests - before.requests, 2, "one 429 and one retry");
    assert.equal(after.byStatus["429"], 2);
  });
});

Deno.test("529 overloaded → OverloadedError; 503 → ServiceUnavailableError; 500 → InternalServerError", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, [{ mode: "overloaded" }, { mode: "overloaded" }]);
    for (const stream of [false, true]) {
      const err = await client.messages.create({ ...BASE, stream }).catch((e) => e);
      assert.ok(err instanceof Anthropic.OverloadedError, String(err));
      assert.ok(err instanceof Anthropic.InternalServerError, "a subclass of InternalServerError");
      assert.equal(err.status, 529);
      assert.equal(err.type, "overloaded_error");
      assert.deepEqual((err.error as { error: unknown }).error, {
        type: "overloaded_error",
        message: "Overloaded",
      });
    }

    await setFaults(sim, { mode: "unavailable" });
    const e503 = await client.messages.create(BASE).catch((e) => e);
    assert.ok(e503 instanceof Anthropic.ServiceUnavailableError, String(e503));
    assert.equal(e503.status, 503);

    await setFaults(sim, { mode: "server_error" });
    const e500 = await client.messages.create(BASE).catch((e) => e);
    assert.ok(e500 instanceof Anthropic.InternalServerError, String(e500));
    assert.ok(!(e500 instanceof Anthropic.OverloadedError));
    assert.equal(e500.status, 500);
    assert.equal(e500.type, "api_error");

    // The SDK retries a 529 like any 5xx.
    await setFaults(sim, { mode: "overloaded", retryAfterSeconds: 0.05 });
    const retrying = new Anthropic({ apiKey: "sim", baseURL: sim.url, maxRetries: 1 });
    assert.equal((await retrying.messages.create(BASE)).stop_reason, "end_turn");

    const s = await stats(sim);
    assert.deepEqual(s.byStatus, { "200": 1, "500": 1, "503": 1, "529": 3 });
    assert.equal(s.faults.overloaded, 3);
  });
});

Deno.test("401 without a key → AuthenticationError; x-api-key or Bearer both accepted", async () => {
  await withSim(async (sim) => {
    const noKey = new Anthropic({
      apiKey: "unused",
      baseURL: sim.url,
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    const err = await noKey.messages.create(BASE).catch((e) => e);
    assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
    assert.equal(err.status, 401);
    assert.equal(err.type, "authentication_error");
    assert.match(err.message, /x-api-key header is required/);

    const empty = await post(sim, BASE, { "x-api-key": "" });
    assert.equal(empty.status, 401);
    assert.equal((await empty.json()).error.type, "authentication_error");
    const viaHeader = await post(sim, BASE);
    assert.equal(viaHeader.status, 200);
    await viaHeader.body?.cancel();
    const noVersion = await fetch(`${sim.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k" },
      body: JSON.stringify(BASE),
    });
    assert.equal(noVersion.status, 400);
    assert.match((await noVersion.json()).error.message, /anthropic-version: header is required/);
  });
});

Deno.test("400 on a bad body → BadRequestError, worded as Anthropic does", async () => {
  await withSim(async (sim, client) => {
    const bad = async (body: unknown) => {
      const e = await client.messages.create(body as Anthropic.MessageCreateParamsNonStreaming).catch((e) =>
        e
      );
      assert.ok(e instanceof Anthropic.BadRequestError, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.type, "invalid_request_error");
      return String((e as InstanceType<typeof Anthropic.BadRequestError>).apiMessage);
    };
    assert.equal(await bad({ model: MODEL, messages: HELLO }), "max_tokens: Field required");
    assert.equal(
      await bad({ ...BASE, max_tokens: 0 }),
      "max_tokens: Input should be greater than or equal to 1",
    );
    assert.equal(await bad({ ...BASE, max_tokens: "many" }), "max_tokens: Input should be a valid integer");
    assert.equal(await bad({ max_tokens: 5, messages: HELLO }), "model: Field required");
    assert.equal(await bad({ ...BASE, messages: [] }), "messages: at least one message is required");
    assert.equal(
      await bad({ ...BASE, messages: [{ role: "system", content: "x" }] }),
      "messages.0.role: Input should be 'user' or 'assistant'",
    );
    assert.match(await bad({ ...BASE, messages: [{ role: "user", content: " " }] }), /non-empty content/);
    assert.equal(await bad({ ...BASE, stop: ["x"] }), "stop: Extra inputs are not permitted");
    assert.equal(
      await bad({ ...BASE, temperature: 1.5 }),
      "temperature: Input should be less than or equal to 1",
    );
    assert.match(await bad({ ...BASE, thinking: { type: "enabled", budget_tokens: 100 } }), /budget_tokens/);
    assert.match(
      await bad({ ...BASE, max_tokens: 2000, thinking: { type: "enabled", budget_tokens: 4000 } }),
      /max_tokens` must be greater/,
    );

    const notJson = await post(sim, "{not json");
    assert.equal(notJson.status, 400);
    assert.equal((await notJson.json()).type, "error");
    const s = await stats(sim);
    assert.equal(s.byStatus["400"], 12);
    assert.equal(s.byStatus["200"], undefined, "no request got through");
  });
});

Deno.test("cut_stream: the SDK raises the runtime's body-read error after the first tokens", async () => {
  await withSim(async (sim, client) => {
    const full = textOf(await client.messages.create(BASE));
    await setFaults(sim, { mode: "cut_stream", afterTokens: 3 });
    const { events, error } = await drain(await client.messages.create({ ...BASE, stream: true }));
    // Not wrapped by the SDK: the fetch body's own TypeError.
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /error reading a body from connection/);
    assert.equal(textDeltas(events).join(""), tokenize(full).slice(0, 3).join(""));
    assert.ok(!events.some((e) => e.type === "message_delta" || e.type === "message_stop"), "no final usage");
    assert.equal((await statsWhen(sim, (s) => s.streams.cut === 1)).streams.cut, 1);

    // The MessageStream helper wraps it in an AnthropicError (cause: that TypeError).
    await setFaults(sim, { mode: "cut_stream", afterTokens: 3 });
    const stream = client.messages.stream(BASE);
    const texts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    const err = await stream.finalMessage().catch((e) => e);
    assert.ok(err instanceof Anthropic.AnthropicError, String(err));
    assert.ok(!(err instanceof Anthropic.APIError));
    assert.ok((err as Error).cause instanceof TypeError);
    assert.equal(texts.length, 3);

    // Non-streaming: half of the JSON body, then the connection drops.
    await setFaults(sim, { mode: "cut_stream" });
    const e2 = await client.messages.create(BASE).catch((e) => e);
    assert.ok(e2 instanceof TypeError, String(e2));
  });
});

Deno.test("stream_error: an `error` event mid-stream makes the SDK throw APIError (no status)", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "stream_error", afterTokens: 2 });
    const { events, error } = await drain(await client.messages.create({ ...BASE, stream: true }));
    assert.ok(error instanceof Anthropic.APIError, String(error));
    assert.equal(error.status, undefined);
    assert.equal(error.type, "overloaded_error");
    assert.equal(textDeltas(events).length, 2);
    assert.equal((await statsWhen(sim, (s) => s.streams.errored === 1)).streams.errored, 1);

    await setFaults(sim, { mode: "stream_error" });
    const e500 = await client.messages.create(BASE).catch((e) => e);
    assert.ok(e500 instanceof Anthropic.InternalServerError, "non-streaming: a 500");
  });
});

Deno.test("stall: tokens stop without the stream closing; aborting stops the server side", async () => {
  await withSim(async (sim, client) => {
    await setFaults(sim, { mode: "stall", afterTokens: 2 });
    const stream = await client.messages.create({ ...BASE, stream: true });
    const it = stream[Symbol.asyncIterator]();
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await it.next()).value!.type);
    assert.deepEqual(seen, [
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
    ]);
    const next = it.next();
    const timeout = new Promise<"silent">((r) => setTimeout(() => r("silent"), 300));
    assert.equal(await Promise.race([next, timeout]), "silent", "nothing more arrives");
    assert.equal((await stats(sim)).streams.stalled, 1);
    stream.controller.abort();
    await next.catch(() => {});
    const s = await statsWhen(sim, (s) => s.active === 0);
    assert.equal(s.active, 0);
    assert.equal(s.streams.aborted, 1);
  });
});

Deno.test("close() ends a stalled stream and a stalled non-streaming request", async () => {
  const sim = await startAnthropicSimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0 });
  const client = new Anthropic({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 });
  sim.faults.set([{ mode: "stall", afterTokens: 1 }, { mode: "stall" }]);
  const reading = drain(await client.messages.create({ ...BASE, stream: true }));
  const waiting = client.messages.create(BASE).then(() => "answered", (e) => e);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sim.stats().active, 2);
  await sim.close();
  const [r1, r2] = await Promise.all([reading, waiting]);
  assert.ok(r1.error instanceof Error, `stream: ${r1.error}`);
  assert.ok(r2 instanceof Error, `request: ${r2}`);
});

Deno.test("pacing: first-token latency and token rate, overridable per request", async () => {
  await withSim(async (_sim, client) => {
    const t0 = performance.now();
    const stream = client.messages.stream(
      { ...BASE, max_tokens: 10 },
      { headers: { "x-simulator-latency-ms": "0", "x-simulator-tps": "50" } },
    );
    const times: number[] = [];
    stream.on("text", () => times.push(performance.now() - t0));
    await stream.finalMessage();
    assert.equal(times.length, 10);
    assert.ok(times[9] - times[0] >= 9 * 20 - 5, `spread ${times[9] - times[0]} ms`);
    assert.ok(times[0] < 150, `first token at ${times[0]} ms (latency header 0)`);
  }, { firstTokenLatencyMs: 150 });
});

Deno.test("models.list() in Anthropic's shape; unknown routes are not_found_error", async () => {
  await withSim(async (sim, client) => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      assert.equal(m.type, "model");
      ids.push(m.id);
    }
    assert.ok(ids.includes(MODEL), ids.join());
    const unknown = await post(sim, BASE).then(() => fetch(`${sim.url}/v1/complete`, { method: "POST" }));
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.type, "not_found_error");
  });
});

// ---------------------------------------------------------------------------------------------
// Our adapter against the simulator

const CHAT_MODEL: ChatModel = {
  id: "claude-haiku-4.5",
  provider: "anthropic",
  vendor: "Anthropic",
  name: "Claude Haiku 4.5",
  apiModel: MODEL,
  capabilities: ["chat"],
  contextWindow: 200_000,
  maxOutputTokens: 64_000,
  pricing: {
    unit: "tokens",
    inputPerMTok: "1",
    outputPerMTok: "5",
    source: "https://www.anthropic.com/pricing",
    asOf: "2025-10-15",
  },
  quality: {},
  tiers: ["free"],
};

const CONVERSATION = {
  model: CHAT_MODEL,
  messages: [
    { role: "system" as const, content: "You are terse." },
    { role: "user" as const, content: "Hi" },
    { role: "user" as const, content: "Tell me a fact." },
  ],
  maxOutputTokens: 200,
  temperature: 0.3,
  stop: ["\n\nHuman:"],
};

Deno.test("our adapter: stream and body parse to the simulator's text and usage, normalized", async () => {
  await withSim(async (sim, client) => {
    const endpoint = { baseUrl: sim.url, apiKey: "sim" };
    const { url, init } = anthropicAdapter.buildRequest(CONVERSATION, endpoint, true);
    const got = await collectEvents(anthropicAdapter.parseStream((await fetch(url, init)).body!));
    const reported = (await statsWhen(sim, (s) => s.streams.completed === 1)).tokens;

    // The same request through the SDK, for the simulator's own numbers.
    const sent = JSON.parse(init.body as string);
    const sdk = await client.messages.create({ ...sent, stream: false });
    assert.equal(got.text, textOf(sdk));
    assert.equal(got.finishReason, "end_turn");
    assert.equal(got.reasoning, null);
    assert.deepEqual(got.usage, {
      inputTokens: sdk.usage.input_tokens,
      outputTokens: sdk.usage.output_tokens,
      cachedInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
    assert.deepEqual(reported, { prompt: got.usage!.inputTokens, completion: got.usage!.outputTokens });
    // Merged user turns and the system prompt were counted as the simulator documents.
    assert.equal(
      got.usage!.inputTokens,
      estimateMessageTokens([
        { role: "system", texts: ["You are terse."] },
        { role: "user", texts: ["Hi\n\nTell me a fact."] },
      ]),
    );

    const plain = anthropicAdapter.buildRequest(CONVERSATION, endpoint, false);
    const body = anthropicAdapter.parseResponse(await (await fetch(plain.url, plain.init)).json());
    assert.deepEqual(body, got);
  });
});

Deno.test("our adapter: prompt-cache reads and writes stay inside inputTokens", async () => {
  await withSim(async (sim) => {
    const { url, init } = anthropicAdapter.buildRequest(
      CONVERSATION,
      { baseUrl: sim.url, apiKey: "sim" },
      true,
    );
    // Mark the system prompt cacheable (the adapter does not do that itself yet).
    const body = JSON.parse(init.body as string);
    body.system = [{ type: "text", text: body.system, cache_control: { type: "ephemeral" } }];
    const run = async () => {
      const res = await fetch(url, { ...init, body: JSON.stringify(body) });
      return await collectEvents(anthropicAdapter.parseStream(res.body!));
    };
    const first = await run();
    const second = await run();
    const prefix = estimateMessageTokens([{ role: "system", texts: ["You are terse."] }]) - 3; // no priming
    assert.equal(first.usage!.cacheWriteInputTokens, prefix);
    assert.equal(first.usage!.cachedInputTokens, 0);
    assert.equal(second.usage!.cachedInputTokens, prefix);
    assert.equal(second.usage!.cacheWriteInputTokens, 0);
    // Anthropic's input_tokens shrank; every input token is still counted (and billed) once.
    assert.equal(first.usage!.inputTokens, second.usage!.inputTokens);
    const s = await statsWhen(sim, (s) => s.streams.completed === 2);
    assert.equal(s.tokens.prompt, first.usage!.inputTokens * 2);
  });
});

Deno.test("our adapter: a cut stream yields no usage; an error event is a ProviderError", async () => {
  await withSim(async (sim) => {
    const { url, init } = anthropicAdapter.buildRequest(
      CONVERSATION,
      { baseUrl: sim.url, apiKey: "sim" },
      true,
    );
    const read = async () => {
      const events: ProviderEvent[] = [];
      try {
        for await (const e of anthropicAdapter.parseStream((await fetch(url, init)).body!)) events.push(e);
        return { events, error: undefined };
      } catch (error) {
        return { events, error };
      }
    };
    await setFaults(sim, { mode: "cut_stream", afterTokens: 3 });
    const cut = await read();
    assert.ok(cut.error instanceof Error, String(cut.error));
    assert.deepEqual(cut.events.map((e) => e.type), ["text", "text", "text"], "text so far, never usage");

    await setFaults(sim, { mode: "stream_error", afterTokens: 2 });
    const broken = await read();
    assert.ok(broken.error instanceof ProviderError, String(broken.error));
    assert.equal(broken.error.kind, "unavailable");
    assert.equal(broken.events.filter((e) => e.type === "text").length, 2);
    assert.ok(!broken.events.some((e) => e.type === "usage"));
  });
});
