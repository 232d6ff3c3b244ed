// POST /chat's event stream, read as parsed events. Aborting the signal (the Stop button) ends the
// fetch; the server then stops the provider and bills only what was produced.

import { EventSourceParserStream } from "eventsource-parser/stream";
import { type Api, ApiError, errorFrom, parseJson } from "./api.ts";

export interface Routing {
  selection: "explicit" | "router" | "default_model";
  reason: string;
  intent?: string;
  complexity?: string;
  fallbackFrom?: string;
}

export interface ChatEvent {
  conversationId?: string;
  messageId?: string;
  requestId?: string;
  model?: string;
  simulated?: boolean;
  routing?: Routing;
  delta?: string;
  reasoning?: string;
  citations?: string[];
  cost?: string;
  usage?: { inputTokens: number; outputTokens: number };
  error?: { code: string; message: string };
}

export interface ChatRequest {
  messages: { role: "user" | "assistant"; content: string }[];
  conversationId?: string;
  model?: string;
  routing?: "balanced" | "cheapest" | "best";
  /** A new answer to the last (already stored) user turn. */
  regenerate?: boolean;
}

export async function* streamChat(
  api: Api,
  body: ChatRequest,
  signal: AbortSignal,
): AsyncGenerator<ChatEvent> {
  const res = await api.raw("chat", {
    method: "POST",
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!res.ok || !res.body) throw await errorFrom(res);
  const events = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  // A reader, not `for await` over the stream: WebKit (Safari, every iOS browser) has no async
  // iterator on ReadableStream.
  const reader = events.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.data === "[DONE]") return;
      yield parseJson(value.data) as ChatEvent;
    }
  } finally {
    reader.cancel().catch(() => {}); // ended early (an error event, Stop): let the body go
  }
  // Neither [DONE] nor an error event: the connection was cut, so the answer is not complete.
  throw new ApiError(
    "The answer was cut off: the connection ended before it was complete.",
    0,
    "stream_ended",
  );
}
