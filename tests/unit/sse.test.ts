import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { SSE_DONE, sseEvent } from "../../supabase/functions/_shared/http/sse.ts";

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
