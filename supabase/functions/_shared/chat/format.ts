// How an answer is written to the client. The pipeline is the same for every surface; the
// wire format differs: the brief's own events for POST /chat (below), OpenAI's chat.completion
// shapes for the OpenAI-compatible surface (openai/format.ts).

import { decimalJson } from "../money.ts";
import { SSE_DONE, sseEvent, sseJson } from "../http/sse.ts";
import type { ToolCall } from "../providers/types.ts";
import type { Routing } from "./pipeline.ts";

/** What a format says about the answer besides its content (a live request's context has it all). */
export interface AnswerHead {
  requestId: string;
  model: { id: string };
  conversationId: string | null;
  messageId: string | null;
  routing: Routing | null;
}

/**
 * A piece of a tool call, as the stream passes it on: `first` for the call's opening piece (its
 * id and name; a call the provider sent without an id gets one), then argument fragments.
 * `index` counts the answer's calls from 0 in the order they began.
 */
export interface ToolCallPiece {
  index: number;
  first: boolean;
  id?: string;
  name?: string;
  arguments?: string;
}

/** Several events as one chunk (a format may answer one provider event with more than one). */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** What the client is told at the end: billed usage and exact cost. */
export interface AnswerSummary {
  text: string;
  reasoning: string | null;
  /** The model's refusal, when it declined instead of answering (then `text` is empty). */
  refusal?: string | null;
  citations: string[];
  /** Functions the model called (complete, with ids). */
  toolCalls: ToolCall[];
  finishReason: string | null;
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens, read from the provider's prompt cache; of outputTokens, spent reasoning. */
  cachedInputTokens?: number;
  reasoningTokens?: number;
  cost: string;
  simulated: boolean;
}

export interface AnswerFormat {
  /** Streaming: the events, as bytes (null: nothing to send for this one). */
  start(ctx: AnswerHead, simulated: boolean): Uint8Array | null;
  delta(ctx: AnswerHead, text: string): Uint8Array;
  /** The model declining, in its words. */
  refusal(ctx: AnswerHead, text: string): Uint8Array;
  reasoning(ctx: AnswerHead, text: string): Uint8Array | null;
  citations(ctx: AnswerHead, urls: string[]): Uint8Array | null;
  toolCall(ctx: AnswerHead, piece: ToolCallPiece): Uint8Array | null;
  end(ctx: AnswerHead, summary: AnswerSummary): Uint8Array[];
  error(ctx: AnswerHead, code: string, message: string): Uint8Array[];
  /** Non-streaming: the JSON body. */
  json(ctx: AnswerHead, summary: AnswerSummary): unknown;
}

/**
 * The brief's format (DESIGN.md §4):
 *   data: {"conversationId","messageId","requestId","model","simulated","routing"}   first
 *   data: {"delta":"Hel","model":"…"}                                             text
 *   data: {"reasoning":"…","model":"…"}                                           reasoning
 *   data: {"citations":["https://…"],"model":"…"}                                sources
 *   data: {"cost":0.00125,"model":"…","usage":{"inputTokens","outputTokens"}}    at the end
 *   data: {"error":{"code","message"}}                                            instead, on failure
 *   data: [DONE]
 * /chat takes no tools, so its answers carry no tool calls (toolCall sends nothing).
 */
export const briefFormat: AnswerFormat = {
  start: (ctx, simulated) =>
    sseEvent({
      conversationId: ctx.conversationId,
      messageId: ctx.messageId,
      requestId: ctx.requestId,
      model: ctx.model.id,
      simulated,
      routing: ctx.routing,
    }),
  // the bytes of sseEvent({ delta: text, model }), without building and walking an object per delta
  delta: (ctx, text) => sseJson(`{"delta":${JSON.stringify(text)},"model":${JSON.stringify(ctx.model.id)}}`),
  // /chat shows a refusal as the answer: it is what the model said
  refusal: (ctx, text) =>
    sseJson(`{"delta":${JSON.stringify(text)},"model":${JSON.stringify(ctx.model.id)}}`),
  reasoning: (ctx, text) => sseEvent({ reasoning: text, model: ctx.model.id }),
  citations: (ctx, urls) => sseEvent({ citations: urls, model: ctx.model.id }),
  toolCall: () => null,
  end: (ctx, s) => [
    sseEvent({
      cost: decimalJson(s.cost),
      model: ctx.model.id,
      usage: { inputTokens: s.inputTokens, outputTokens: s.outputTokens },
    }),
    SSE_DONE,
  ],
  error: (_ctx, code, message) => [sseEvent({ error: { code, message } }), SSE_DONE],
  json: (ctx, s) => ({
    content: s.text + (s.refusal ?? ""), // a refusal is what the model said
    ...(s.reasoning ? { reasoning: s.reasoning } : {}),
    ...(s.citations.length ? { citations: s.citations } : {}),
    model: ctx.model.id,
    cost: decimalJson(s.cost),
    usage: { inputTokens: s.inputTokens, outputTokens: s.outputTokens },
    conversationId: ctx.conversationId,
    messageId: ctx.messageId,
    routing: ctx.routing,
    simulated: s.simulated,
    finishReason: s.finishReason,
  }),
};
