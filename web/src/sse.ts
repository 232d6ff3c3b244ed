// POST /chat's event stream, read as parsed events. Aborting the signal (the Stop button) ends the
// fetch; the server then stops the provider and bills only what was produced.

import { EventSourceParserStream } from "eventsource-parser/stream";
import { type Api, errorFrom, parseJson } from "./api.ts";

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
  for await (const { data } of events) {
    if (data === "[DONE]") return;
    yield parseJson(data) as ChatEvent;
  }
}
