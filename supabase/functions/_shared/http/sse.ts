// Server-sent events in the brief's format: one JSON object per `data:` line, then `[DONE]`.

const encoder = new TextEncoder();

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
} as const;

/** One event as bytes: `data: <json>\n\n`. JSON never contains a raw newline, so one line suffices. */
export function sseEvent(data: unknown): Uint8Array {
  return sseJson(JSON.stringify(data));
}

/** One event from its JSON text (hot paths write the constant parts of their events once). */
export function sseJson(json: string): Uint8Array {
  return encoder.encode(`data: ${json}\n\n`);
}

export const SSE_DONE: Uint8Array = encoder.encode("data: [DONE]\n\n");
