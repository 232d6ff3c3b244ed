import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { SSE_DONE, sseEvent } from "../../supabase/functions/_shared/http/sse.ts";
import { sseMessages } from "../../supabase/functions/_shared/providers/sse.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("an event is one data line and a blank line", () => {
  assert.equal(decode(sseEvent({ delta: "Hello", model: "m" })), 'data: {"delta":"Hello","model":"m"}\n\n');
  assert.equal(decode(SSE_DONE), "data: [DONE]\n\n");
});

Deno.test("newlines and unicode in deltas survive a standard SSE parser", () => {
  const deltas = ["line one\nline two", "\r\n", "data: not an event", "émoji 🚀 and \u2028", ""];
  const received: string[] = [];
  const parser = createParser({ onEvent: (e) => received.push(e.data) });
  for (const d of deltas) parser.feed(decode(sseEvent({ delta: d })));
  parser.feed(decode(SSE_DONE));
  assert.deepEqual(received.slice(0, -1).map((r) => JSON.parse(r).delta), deltas);
  assert.equal(received.at(-1), "[DONE]");
});

Deno.test("raw-number money reaches the client with its digits", async () => {
  const { decimalJson } = await import("../../supabase/functions/_shared/money.ts");
  assert.equal(decode(sseEvent({ cost: decimalJson("0.00125") })), 'data: {"cost":0.00125}\n\n');
});

/** A body of `text` in pieces of the given sizes, as a byte stream (as fetch gives) or a plain one. */
function body(text: string, sizes: number[], bytes: boolean): ReadableStream<Uint8Array> {
  const all = new TextEncoder().encode(text);
  let at = 0;
  let i = 0;
  const next = () => {
    const piece = all.slice(at, at + sizes[i++ % sizes.length]);
    at += piece.length;
    return piece;
  };
  return bytes
    ? new ReadableStream({
      type: "bytes",
      pull(c) {
        if (at < all.length) return c.enqueue(next());
        c.close();
        c.byobRequest?.respond(0); // a pending read into a buffer ends here (as Deno's bodies do)
      },
    })
    : new ReadableStream({
      pull(c) {
        if (at >= all.length) return c.close();
        c.enqueue(next());
      },
    });
}

Deno.test("provider streams: every event, whatever the pieces' sizes, byte stream or not", async () => {
  const big = "x".repeat(20_000) + "é"; // larger than one read's buffer
  const datas = ["one", "émoji 🚀 split across pieces", big, '{"json":true}', "[DONE]"];
  const text = `: comment\n\n${datas.map((d, i) => `event: e${i}\ndata: ${d}\n\n`).join("")}data: incomplete`;
  for (const bytes of [true, false]) {
    for (const sizes of [[1], [3, 7], [100], [50_000], [8191, 8193]]) {
      const seen = [];
      for await (const m of sseMessages(body(text, sizes, bytes))) seen.push([m.event, m.data]);
      assert.deepEqual(seen, datas.map((d, i) => [`e${i}`, d]), `${bytes} ${sizes}`);
    }
  }
});

Deno.test("provider streams: leaving early cancels the body", async () => {
  for (const bytes of [true, false]) {
    let cancelled = false;
    const source = body("data: a\n\ndata: b\n\n", [9], bytes);
    const watched = new ReadableStream<Uint8Array>({
      type: bytes ? "bytes" : undefined,
      async pull(c) {
        const r = await reader.read();
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
      cancel() {
        cancelled = true;
      },
    } as UnderlyingDefaultSource<Uint8Array>);
    const reader = source.getReader();
    for await (const m of sseMessages(watched)) {
      assert.equal(m.data, "a");
      break;
    }
    assert.ok(cancelled, `cancelled (byte stream: ${bytes})`);
  }
});
