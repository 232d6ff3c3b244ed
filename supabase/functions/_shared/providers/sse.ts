// Reads a provider's text/event-stream body as parsed events, chunk by chunk (eventsource-parser).

import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Completion, ProviderEvent, ToolCall } from "./types.ts";

/** When a watched body last delivered bytes (performance.now()). */
export interface Liveness {
  at: number;
}

const watched = new WeakMap<ReadableStream<Uint8Array>, Liveness>();

/**
 * Notes, from now on, when `body` last delivered any bytes: keep-alive comments and pings, which
 * no adapter turns into an event, are a provider's sign of life while it thinks.
 */
export function watchBytes(body: ReadableStream<Uint8Array>): Liveness {
  const liveness = { at: performance.now() };
  watched.set(body, liveness);
  return liveness;
}

/**
 * The body's events as they arrive. What `body.pipeThrough(new TextDecoderStream())
 * .pipeThrough(new EventSourceParserStream())` gives, read directly: two stream stages cost a few
 * promises and queue operations per event, which add up over a long answer's hundreds of events.
 * Stopping early (break, return) cancels the body, as leaving a stream's iterator does.
 */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<EventSourceMessage> {
  const liveness = watched.get(body);
  const source = byteSource(body);
  const decoder = new TextDecoder();
  let parsed: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => parsed.push(message) });
  let finished = false;
  try {
    while (!finished) {
      const bytes = await source.read();
      if (liveness) liveness.at = performance.now();
      finished = bytes === null;
      parser.feed(bytes === null ? decoder.decode() : decoder.decode(bytes, { stream: true }));
      const ready = parsed;
      parsed = [];
      for (const message of ready) yield message;
    }
  } finally {
    source.close(!finished);
  }
}

/**
 * Bytes to read into: a stream's whole answer reuses one buffer. (A byte stream's default reader,
 * which fetch bodies get, allocates a fresh 64 KiB buffer for each read: one per provider event,
 * garbage-collected megabytes per answer.) Events are small; a larger burst takes a few reads.
 */
const READ_BUFFER_BYTES = 8 * 1024;

/** Reads a body chunk by chunk (null at its end): into a reused buffer where the stream allows it. */
function byteSource(body: ReadableStream<Uint8Array>) {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch { /* not a byte stream */ }
  if (byob) {
    const reader = byob;
    let buffer: ArrayBufferLike = new ArrayBuffer(READ_BUFFER_BYTES);
    return {
      async read(): Promise<Uint8Array | null> {
        const { done, value } = await reader.read(new Uint8Array(buffer));
        if (done) return null;
        buffer = value.buffer; // the same memory, handed back by the read
        return value;
      },
      close: (cancel: boolean) => release(reader, cancel),
    };
  }
  const reader = body.getReader();
  return {
    async read(): Promise<Uint8Array | null> {
      const { done, value } = await reader.read();
      return done ? null : value;
    },
    close: (cancel: boolean) => release(reader, cancel),
  };
}

function release(
  reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>,
  cancel: boolean,
) {
  if (cancel) reader.cancel().catch(() => {});
  reader.releaseLock();
}

/** Folds normalized events into one Completion (non-streaming answers, tests). */
export async function collect(events: AsyncIterable<ProviderEvent>): Promise<Completion> {
  const out: Completion = {
    text: "",
    reasoning: null,
    toolCalls: [],
    citations: [],
    finishReason: null,
    usage: null,
  };
  const calls = new Map<number, ToolCall>();
  for await (const e of events) {
    switch (e.type) {
      case "text":
        out.text += e.text;
        break;
      case "reasoning":
        out.reasoning = (out.reasoning ?? "") + e.text;
        break;
      case "refusal":
        out.refusal = (out.refusal ?? "") + e.text;
        break;
      case "finish":
        out.finishReason = e.reason;
        break;
      case "usage":
        out.usage = e.usage;
        break;
      case "citations":
        for (const url of e.urls) if (!out.citations.includes(url)) out.citations.push(url);
        break;
      case "tool_call": {
        const call = calls.get(e.call.index) ?? { id: "", name: "", arguments: "" };
        if (e.call.id) call.id = e.call.id;
        if (e.call.name) call.name += e.call.name;
        if (e.call.arguments) call.arguments += e.call.arguments;
        calls.set(e.call.index, call);
      }
    }
  }
  out.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  return out;
}
