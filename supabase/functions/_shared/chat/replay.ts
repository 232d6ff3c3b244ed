// A stored answer (a response-cache hit, or an idempotent retry's replay) written in any answer
// format, so a surface other than /chat replays it in its own shapes. What is stored is
// format-neutral: the answer's text, its billed tokens and cost (see metering.ts); a stored answer
// ended by itself (only whole answers are cached), and has no tool calls (requests with tools
// are not cached).

import { SSE_HEADERS } from "../http/sse.ts";
import { findModel } from "../catalog/index.ts";
import { isSimulated } from "../providers/registry.ts";
import type { AnswerFormat, AnswerHead, AnswerSummary } from "./format.ts";
import type { StoredAnswer } from "./pipeline.ts";

export function respondStoredIn(format: AnswerFormat, answer: StoredAnswer, stream: boolean): Response {
  const { result } = answer;
  const headers = {
    ...answer.headers,
    "X-Request-Id": result.requestId,
    "X-Nexus-Cost": result.cost,
    ...(answer.cached ? { "X-Cache": "HIT" } : {}),
  };
  const head: AnswerHead = {
    requestId: result.requestId,
    model: { id: result.model },
    conversationId: result.conversationId,
    messageId: result.messageId,
    routing: answer.routing,
  };
  const simulated = isSimulated(findModel(result.model)?.provider ?? "");
  const summary: AnswerSummary = {
    text: result.content,
    reasoning: null,
    citations: [],
    toolCalls: [],
    finishReason: null,
    inputTokens: result.inputTokens,
    outputTokens: result.outputTokens,
    cost: result.cost,
    simulated,
  };
  if (!stream) return Response.json(format.json(head, summary), { headers });
  const events = [
    format.start(head, simulated),
    ...(result.content ? [format.delta(head, result.content)] : []),
    ...format.end(head, summary),
  ].filter((e): e is Uint8Array => e !== null);
  return new Response(new Blob(events as BlobPart[]).stream(), { headers: { ...headers, ...SSE_HEADERS } });
}
