// The streamed answer's idle timeout (NEXUS_PROVIDER_IDLE_TIMEOUT_MS) through the real stream:
// only the provider's silence counts, however long the stream, and a stall ends the answer with
// provider_timeout exactly once. The provider is an async generator with real pauses. And the
// text deltas' bytes, which both formats write from precomputed parts.

import assert from "node:assert/strict";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { chatStream, type StreamOutcome } from "../../supabase/functions/_shared/chat/stream.ts";
import { briefFormat } from "../../supabase/functions/_shared/chat/format.ts";
import { openaiFormat } from "../../supabase/functions/_shared/openai/format.ts";
import { chatContext } from "../support/chat-context.ts";
import { type ChatModel, findModel } from "../../supabase/functions/_shared/catalog/index.ts";
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

/** Runs `fn` with the request time limit (NEXUS_MAX_REQUEST_MS) set to `ms`. */
async function withRequestLimit<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.env.get("NEXUS_MAX_REQUEST_MS");
  Deno.env.set("NEXUS_MAX_REQUEST_MS", String(ms));
  try {
    return await fn();
  } finally {
    saved === undefined
      ? Deno.env.delete("NEXUS_MAX_REQUEST_MS")
      : Deno.env.set("NEXUS_MAX_REQUEST_MS", saved);
  }
}

/** A provider that never stops: a piece every 20 ms, until it is stopped. */
async function* endless() {
  for (let i = 0;; i++) {
    await sleep(20);
    yield text(`p${i} `);
  }
}

Deno.test("a stream still going at the request's time limit is cut there and billed for what it produced", async () => {
  await withRequestLimit(400, async () => {
    const ends: StreamOutcome[] = [];
    let aborted = 0;
    const body = chatStream({ ...context(), startedAt: performance.now() }, briefFormat, true, endless(), {
      onEnd: (o) => ends.push(o),
      abortUpstream: () => aborted++,
      billedUsage: () => ({ inputTokens: 10, outputTokens: 5 }),
    });
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
    assert.equal(aborted, 1);
  });
});

Deno.test("a client that stops reading does not hold the request open: it ends at the time limit all the same", async () => {
  await withRequestLimit(300, async () => {
    const ends: StreamOutcome[] = [];
    let aborted = 0;
    const body = chatStream({ ...context(), startedAt: performance.now() }, briefFormat, true, endless(), {
      onEnd: (o) => ends.push(o),
      abortUpstream: () => aborted++,
      billedUsage: () => ({ inputTokens: 10, outputTokens: 2 }),
    });
    const reader = body.getReader();
    await reader.read(); // the meta event
    await reader.read(); // a first delta; then the client reads no more
    await sleep(600);
    assert.equal(ends.length, 1, "ended (and so settled) without another read");
    assert.equal(ends[0].status, "error");
    assert.equal(aborted, 1, "the provider was stopped");
    const rest = new TextDecoder().decode(concat(await Array.fromAsync(readerChunks(reader))));
    assert.match(rest, /provider_timeout/, "a late reader is told why it ended");
  });
});

async function* readerChunks(reader: ReadableStreamDefaultReader<Uint8Array>) {
  for (let r = await reader.read(); !r.done; r = await reader.read()) yield r.value;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return all;
}

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
