// The streamed answer's idle timeout (NEXUS_PROVIDER_IDLE_TIMEOUT_MS) through the real stream:
// only the provider's silence counts, however long the stream, and a stall ends the answer with
// provider_timeout exactly once. The provider is an async generator with real pauses. And the
// text deltas' bytes, which both formats write from precomputed parts.

import assert from "node:assert/strict";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { chatStream, type StreamOutcome } from "../../supabase/functions/_shared/chat/stream.ts";
import { billedUsage } from "../../supabase/functions/_shared/chat/pipeline.ts";
import { briefFormat } from "../../supabase/functions/_shared/chat/format.ts";
import { openaiFormat } from "../../supabase/functions/_shared/openai/format.ts";
import { chatContext } from "../support/chat-context.ts";
import { CHAT_MODELS, type ChatModel, findModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { watchBytes } from "../../supabase/functions/_shared/providers/sse.ts";
import { openaiAdapter } from "../../supabase/functions/_shared/providers/openai/adapter.ts";
import type { ProviderEvent } from "../../supabase/functions/_shared/providers/types.ts";

const IDLE_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const context = () => chatContext("gpt-4o-mini", "r");

/** Streams `events` (with the idle timeout set) and reads the answer, `readPauseMs` between reads. */
async function answer(events: AsyncIterable<ProviderEvent>, readPauseMs = 0) {
  const saved = Deno.env.get("NEXUS_PROVIDER_IDLE_TIMEOUT_MS");
  Deno.env.set("NEXUS_PROVIDER_IDLE_TIMEOUT_MS", String(IDLE_MS));
  const ends: StreamOutcome[] = [];
  let aborted = 0;
  try {
    const body = chatStream(context(), briefFormat, true, events, {
      onEnd: (o) => ends.push(o),
      abortUpstream: () => aborted++,
      billedUsage: (reported) => reported ?? { inputTokens: 10, outputTokens: 1 },
    });
    const data: unknown[] = [];
    const reader = body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
      .getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      data.push(r.value.data === "[DONE]" ? r.value.data : JSON.parse(r.value.data));
      if (readPauseMs) await sleep(readPauseMs);
    }
    return { data, ends, aborted };
  } finally {
    saved === undefined
      ? Deno.env.delete("NEXUS_PROVIDER_IDLE_TIMEOUT_MS")
      : Deno.env.set("NEXUS_PROVIDER_IDLE_TIMEOUT_MS", saved);
  }
}

const text = (t: string): ProviderEvent => ({ type: "text", text: t });
const deltas = (data: unknown[]) =>
  data.flatMap((d) => (typeof d === "object" && d && "delta" in d ? [(d as { delta: string }).delta] : []));

Deno.test("a provider that stops sending: provider_timeout, the stream ends once and is billed", async () => {
  const { data, ends, aborted } = await answer((async function* () {
    yield text("Hel");
    yield text("lo");
    await new Promise(() => {}); // silence
  })());
  assert.deepEqual(deltas(data), ["Hel", "lo"]);
  assert.deepEqual(data.at(-2), { error: { code: "provider_timeout", message: "openai stopped sending" } });
  assert.equal(data.at(-1), "[DONE]");
  assert.equal(ends.length, 1);
  assert.equal(ends[0].status, "error");
  assert.equal(ends[0].text, "Hello");
  assert.equal(aborted, 1);
});

Deno.test("a steady stream longer than the idle timeout is not cut: only silence counts", async () => {
  const pieces = Array.from({ length: 12 }, (_, i) => `w${i} `);
  const { data, ends } = await answer((async function* () {
    for (const p of pieces) {
      await sleep(IDLE_MS / 6); // 12 pauses: twice the idle timeout in all
      yield text(p);
    }
    yield { type: "usage", usage: { inputTokens: 10, outputTokens: 12 } } as ProviderEvent;
  })());
  assert.deepEqual(deltas(data), pieces);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].status, "complete");
  assert.equal(ends[0].outputTokens, 12);
  assert.equal(data.at(-1), "[DONE]");
});

Deno.test("a slow reader is not a silent provider: time spent waiting for the client does not count", async () => {
  const { data, ends } = await answer(
    (async function* () {
      for (let i = 0; i < 4; i++) yield text(`${i}`);
    })(),
    IDLE_MS * 0.6, // the reader pauses 4 × 0.6 × the idle timeout
  );
  assert.deepEqual(deltas(data), ["0", "1", "2", "3"]);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].status, "complete");
});

/** Runs `fn` with the given environment variables set, then puts them back. */
async function withEnv<T>(vars: Record<string, number>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(vars).map((name) => [name, Deno.env.get(name)] as const);
  for (const [name, value] of Object.entries(vars)) Deno.env.set(name, String(value));
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
    }
  }
}

/** Runs `fn` with the request time limit (NEXUS_MAX_REQUEST_MS) set to `ms`. */
const withRequestLimit = <T>(ms: number, fn: () => Promise<T>) => withEnv({ NEXUS_MAX_REQUEST_MS: ms }, fn);

/** A provider that never stops: a piece every 20 ms, until it is stopped. */
async function* endless() {
  for (let i = 0;; i++) {
    await sleep(20);
    yield text(`p${i} `);
  }
}

/** A request (admitted now) streaming from an endless provider, with what its hooks saw. */
function endlessAnswer(outputTokens: number) {
  const seen = { ends: [] as StreamOutcome[], aborted: 0 };
  const body = chatStream({ ...context(), startedAt: performance.now() }, briefFormat, true, endless(), {
    onEnd: (o) => seen.ends.push(o),
    abortUpstream: () => seen.aborted++,
    billedUsage: () => ({ inputTokens: 10, outputTokens }),
  });
  return { body, seen };
}

/** The rest of a stream, as text, once it ends. */
async function restOf(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    rest += decoder.decode(r.value, { stream: true });
  }
  return rest + decoder.decode();
}

Deno.test("a stream still going at the request's time limit is cut there and billed for what it produced", async () => {
  await withRequestLimit(400, async () => {
    const { body, seen } = endlessAnswer(5);
    const { ends } = seen;
    const events = await Array.fromAsync(
      body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()),
    );
    const data = events.map((e) => e.data === "[DONE]" ? e.data : JSON.parse(e.data));
    assert.ok(deltas(data).length > 2, "it streamed until then");
    assert.deepEqual(data.at(-2), {
      error: { code: "provider_timeout", message: "The answer reached the time limit of a request" },
    });
    assert.equal(ends.length, 1);
    assert.equal(ends[0].status, "error");
    assert.equal(ends[0].text, deltas(data).join(""));
    assert.equal(seen.aborted, 1);
  });
});

Deno.test("a client that stops reading does not hold the request open: it ends at the time limit all the same", async () => {
  await withRequestLimit(300, async () => {
    const { body, seen } = endlessAnswer(2);
    const { ends } = seen;
    const reader = body.getReader();
    await reader.read(); // the meta event
    await reader.read(); // a first delta; then the client reads no more
    await sleep(600);
    assert.equal(ends.length, 1, "ended (and so settled) without another read");
    assert.equal(ends[0].status, "error");
    assert.equal(seen.aborted, 1, "the provider was stopped");
    assert.match(await restOf(reader), /provider_timeout/, "a late reader is told why it ended");
  });
});

Deno.test("when the platform retires the instance (beforeunload), streams in flight end now and are billed", async () => {
  const { body, seen } = endlessAnswer(2);
  const { ends } = seen;
  const reader = body.getReader();
  await reader.read(); // the meta event
  await reader.read(); // a first delta
  assert.equal(ends.length, 0, "still streaming");
  dispatchEvent(new Event("beforeunload"));
  assert.match(await restOf(reader), /provider_timeout/);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].status, "error");
  assert.equal(seen.aborted, 1);
  dispatchEvent(new Event("beforeunload")); // an ended stream is not ended again
  assert.equal(ends.length, 1);
});

/** An OpenAI-style SSE body: each step is bytes to send after a pause (ms). */
function sseBody(steps: [number, string][]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    async start(controller) {
      for (const [pause, bytes] of steps) {
        await sleep(pause);
        controller.enqueue(encoder.encode(bytes));
      }
      controller.close();
    },
  });
}

const chunk = (text: string) =>
  `data: {"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}]}\n\n`;
/** The end of a whole answer: its finish reason, then [DONE]. */
const DONE = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`;

/** Streams an OpenAI-style body through the real adapter, watching its bytes as the pipeline does. */
async function streamed(body: ReadableStream<Uint8Array>, modelId = "gpt-4o-mini") {
  const ends: StreamOutcome[] = [];
  const liveness = watchBytes(body);
  const out = chatStream(
    { ...chatContext(modelId, "r"), startedAt: performance.now() },
    briefFormat,
    true,
    openaiAdapter().parseStream(body),
    {
      onEnd: (o) => ends.push(o),
      abortUpstream: () => {},
      billedUsage: (reported) => reported ?? { inputTokens: 10, outputTokens: 1 },
      liveness,
    },
  );
  const raw = await new Response(out).text();
  return { raw, ends };
}

Deno.test("keep-alive bytes are a provider's sign of life: a pause longer than the idle timeout is not a stall", async () => {
  await withEnv({ NEXUS_PROVIDER_IDLE_TIMEOUT_MS: IDLE_MS }, async () => {
    const keepAlives = Array.from(
      { length: 10 },
      () => [IDLE_MS / 3, ": keep-alive\n\n"] as [number, string],
    );
    const { raw, ends } = await streamed(
      sseBody([[0, chunk("a")], ...keepAlives, [0, chunk("b")], [0, DONE]]),
    );
    assert.equal(ends.length, 1);
    assert.equal(ends[0].status, "complete", raw);
    assert.equal(ends[0].text, "ab");
  });
});

Deno.test("before its first output a provider has the first-byte allowance; a reasoning model, the request's time", async () => {
  await withEnv(
    { NEXUS_PROVIDER_IDLE_TIMEOUT_MS: IDLE_MS, NEXUS_PROVIDER_TIMEOUT_MS: IDLE_MS * 3 },
    async () => {
      const late = (pause: number) => sseBody([[pause, chunk("late")], [0, DONE]]);
      const ok = await streamed(late(IDLE_MS * 2));
      assert.equal(ok.ends[0].status, "complete", "twice the idle timeout before the first token is fine");
      const slow = await streamed(late(IDLE_MS * 4));
      assert.equal(slow.ends[0].status, "error", "beyond the first-byte allowance it is a stall");
      assert.match(slow.raw, /provider_timeout/);
      const reasoning = CHAT_MODELS.find((m) =>
        m.provider === "openai" && m.capabilities.includes("reasoning")
      )!;
      const thinker = await streamed(late(IDLE_MS * 4), reasoning.id);
      assert.equal(thinker.ends[0].status, "complete", `${reasoning.id} may think longer before it writes`);
    },
  );
});

Deno.test("a client waiting on a silent provider hears a heartbeat comment, which SSE parsers skip", async () => {
  await withEnv({ NEXUS_STREAM_HEARTBEAT_MS: 100, NEXUS_PROVIDER_TIMEOUT_MS: 2_000 }, async () => {
    const { raw, ends } = await streamed(sseBody([[800, chunk("hi")], [0, DONE]]));
    assert.equal(ends[0].status, "complete");
    const beats = raw.split(": keep-alive\n\n").length - 1;
    assert.ok(beats >= 2, `heartbeats through 800 ms of silence at one per 100 ms: ${beats}`);
    const events = await Array.fromAsync(
      new Response(raw).body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()),
    );
    assert.deepEqual(deltas(events.map((e) => e.data === "[DONE]" ? e.data : JSON.parse(e.data))), ["hi"]);
  });
});

Deno.test("text deltas are written as JSON.stringify would write them, in both formats", () => {
  const texts = ['say "hi"\\n', "line\nbreak\ttab", "é ✓ 🎉 \u2028\u2029", "\ud800 lone", "", "</script>"];
  const ctx = context();
  const dataOf = (bytes: Uint8Array) => {
    const line = new TextDecoder().decode(bytes);
    assert.match(line, /^data: [^\n]*\n\n$/);
    return line.slice(6, -2);
  };
  for (const text of texts) {
    const json = dataOf(briefFormat.delta(ctx, text));
    assert.equal(json, JSON.stringify({ delta: text, model: "gpt-4o-mini" }));
  }
  const format = openaiFormat(false);
  const opening = new TextDecoder().decode(format.delta(ctx, "first")).split("\n\n").filter(Boolean);
  assert.equal(opening.length, 2, "the role delta, then the text");
  for (const [i, text] of ["first", ...texts].entries()) {
    const json = i === 0 ? opening[1].slice(6) : dataOf(format.delta(ctx, text));
    const chunk = JSON.parse(json);
    assert.equal(json, JSON.stringify(chunk), "the bytes of JSON.stringify of the same object");
    assert.deepEqual(chunk, {
      id: "chatcmpl-r",
      object: "chat.completion.chunk",
      created: chunk.created,
      model: "gpt-4o-mini",
      system_fingerprint: null,
      choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }],
    });
  }
  // A fallback model answering: its id, not the first one's.
  const other = { ...ctx, model: findModel("gpt-4o") as ChatModel };
  assert.equal(JSON.parse(dataOf(format.delta(other, "x"))).model, "gpt-4o");
});

Deno.test("a usage report that cannot be billed: the answer is billed on the estimate and ends once", async () => {
  const usage = (outputTokens: number): ProviderEvent => ({
    type: "usage",
    usage: { inputTokens: 3, outputTokens },
  });
  const ends: StreamOutcome[] = [];
  const body = chatStream(
    context(),
    briefFormat,
    true,
    (async function* () {
      yield text("Hi");
      yield usage(1.5); // an odd OpenAI-compatible server
    })(),
    {
      onEnd: (o) => ends.push(o),
      abortUpstream: () => {},
      // the pipeline's own rule (below) estimates such reports; a hook that throws must not lose the ending
      billedUsage: (reported) => {
        if (reported) throw new RangeError("not an integer");
        return { inputTokens: 10, outputTokens: 1 };
      },
    },
  );
  const events = await Array.fromAsync(body.pipeThrough(new TextDecoderStream()));
  assert.match(events.join(""), /\[DONE\]/);
  assert.equal(ends.length, 1, "ended once");
  assert.deepEqual([ends[0].status, ends[0].inputTokens, ends[0].outputTokens], ["complete", 10, 1]);
});

Deno.test("the pipeline bills a provider's sound usage report as it is, and estimates an unsound one", () => {
  const ctx = context();
  const sound = { inputTokens: 12, outputTokens: 3, cachedInputTokens: 2 };
  assert.deepEqual(billedUsage(ctx, sound, ["abc"]), sound);
  for (const odd of [1.5, -1, Number.MAX_VALUE, NaN]) {
    assert.deepEqual(billedUsage(ctx, { inputTokens: 12, outputTokens: odd }, ["abcd"]), {
      inputTokens: 10, // the context's prompt count
      outputTokens: 1,
    }, String(odd));
  }
  assert.deepEqual(
    billedUsage(ctx, { inputTokens: 12, outputTokens: 3, reasoningTokens: 0.5 }, [""]).inputTokens,
    10,
  );
});
