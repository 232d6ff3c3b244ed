// How an answer is written to the client. The pipeline is the same for every surface; the
// wire format differs: the brief's own events for POST /chat (below), OpenAI's chat.completion
// shapes for the OpenAI-compatible surface (openai/format.ts).

import { decimalJson } from "../money.ts";
import { SSE_DONE, sseEvent } from "../http/sse.ts";
import type { ChatContext } from "./pipeline.ts";

/** What the client is told at the end: billed usage and exact cost. */
export interface AnswerSummary {
  text: string;
  reasoning: string | null;
  citations: string[];
  finishReason: string | null;
  inputTokens: number;
  outputTokens: number;
  cost: string;
  simulated: boolean;
}

export interface AnswerFormat {
  /** Streaming: the events, as bytes (null: nothing to send for this one). */
  start(ctx: ChatContext, simulated: boolean): Uint8Array | null;
  delta(ctx: ChatContext, text: string): Uint8Array;
  reasoning(ctx: ChatContext, text: string): Uint8Array | null;
  citations(ctx: ChatContext, urls: string[]): Uint8Array | null;
  end(ctx: ChatContext, summary: AnswerSummary): Uint8Array[];
  error(ctx: ChatContext, code: string, message: string): Uint8Array[];
  /** Non-streaming: the JSON body. */
  json(ctx: ChatContext, summary: AnswerSummary): unknown;
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
  delta: (ctx, text) => sseEvent({ delta: text, model: ctx.model.id }),
  reasoning: (ctx, text) => sseEvent({ reasoning: text, model: ctx.model.id }),
  citations: (ctx, urls) => sseEvent({ citations: urls, model: ctx.model.id }),
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
    content: s.text,
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
