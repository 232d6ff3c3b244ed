// The web client's reading of POST /chat's event stream (web/src/sse.ts): events in order up to
// [DONE]; a stream that ends without [DONE] (nor an error event) is an interruption, not a complete
// answer; and it is read without `for await` over a ReadableStream, which WebKit does not have.

import assert from "node:assert/strict";
import { type Api, ApiError } from "../../web/src/api.ts";
import { type ChatEvent, streamChat } from "../../web/src/sse.ts";

/** An API whose POST /chat answers with this SSE text, in small pieces. */
function apiAnswering(text: string): Api {
  const bytes = new TextEncoder().encode(text);
  return {
    raw: () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
              c.close();
            },
          }),
          { status: 200, headers: { "content-type": "text/event-stream" } },
        ),
      ),
  } as unknown as Api;
}

async function read(text: string): Promise<{ events: ChatEvent[]; error?: unknown }> {
  const events: ChatEvent[] = [];
  try {
    for await (const e of streamChat(apiAnswering(text), { messages: [] }, new AbortController().signal)) {
      events.push(e);
    }
    return { events };
  } catch (error) {
    return { events, error };
  }
}

const EVENTS =
  'data: {"messageId":"m1","model":"gpt-4o-mini"}\n\ndata: {"delta":"Hel"}\n\ndata: {"delta":"lo"}\n\n';

Deno.test("web sse: the events up to [DONE], then the end", async () => {
  const { events, error } = await read(EVENTS + "data: [DONE]\n\n");
  assert.equal(error, undefined);
  assert.deepEqual(events.map((e) => e.delta ?? e.messageId), ["m1", "Hel", "lo"]);
});

Deno.test("web sse: a stream that ends without [DONE] is an interruption (stream_ended)", async () => {
  const { events, error } = await read(EVENTS);
  assert.equal(events.length, 3, "what came is still read");
  assert.ok(error instanceof ApiError, String(error));
  assert.equal(error.code, "stream_ended");
  assert.equal(error.status, 0);
});

Deno.test("web sse: read without ReadableStream's async iterator (as in WebKit)", async () => {
  const proto = ReadableStream.prototype as unknown as Record<symbol, unknown>;
  const iterator = Object.getOwnPropertyDescriptor(proto, Symbol.asyncIterator);
  const values = Object.getOwnPropertyDescriptor(proto, "values");
  delete proto[Symbol.asyncIterator];
  delete (proto as Record<string, unknown>).values;
  try {
    const { events, error } = await read(EVENTS + "data: [DONE]\n\n");
    assert.equal(error, undefined, String(error));
    assert.equal(events.map((e) => e.delta ?? "").join(""), "Hello");
  } finally {
    if (iterator) Object.defineProperty(proto, Symbol.asyncIterator, iterator);
    if (values) Object.defineProperty(proto, "values", values);
  }
});
