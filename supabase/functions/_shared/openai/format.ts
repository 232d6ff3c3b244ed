// Answers in OpenAI's exact shapes: `chat.completion`, and for streams `chat.completion.chunk`s
// (the role first, content deltas, the finish reason, then — when asked with
// stream_options.include_usage — a last chunk with empty choices and `usage`, then [DONE]).
// Our exact cost rides along in `usage.cost` (and the X-Nexus-Cost header of JSON answers).

import { decimalJson } from "../money.ts";
import { SSE_DONE, sseEvent } from "../http/sse.ts";
import type { AnswerFormat, AnswerSummary } from "../chat/format.ts";
import type { ChatContext } from "../chat/pipeline.ts";

/** A provider's own finish reason in OpenAI's vocabulary. */
export function finishReason(raw: string | null): "stop" | "length" | "tool_calls" | "content_filter" {
  const r = (raw ?? "stop").toLowerCase();
  if (["length", "max_tokens"].includes(r)) return "length";
  if (["tool_calls", "tool_use", "tool_call", "function_call"].includes(r)) return "tool_calls";
  if (["content_filter", "safety", "recitation", "blocklist", "prohibited_content"].includes(r)) {
    return "content_filter";
  }
  return "stop";
}

function usage(s: AnswerSummary) {
  return {
    prompt_tokens: s.inputTokens,
    completion_tokens: s.outputTokens,
    total_tokens: s.inputTokens + s.outputTokens,
    cost: decimalJson(s.cost),
  };
}

export function openaiFormat(includeUsage: boolean): AnswerFormat {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (ctx: ChatContext, choices: unknown[], extra: Record<string, unknown> = {}) =>
    sseEvent({
      id: `chatcmpl-${ctx.requestId}`,
      object: "chat.completion.chunk",
      created,
      model: ctx.model.id,
      system_fingerprint: null,
      choices,
      ...extra,
    });
  const delta = (ctx: ChatContext, d: Record<string, unknown>, finish: string | null = null) =>
    chunk(ctx, [{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  return {
    start: (ctx) => delta(ctx, { role: "assistant", content: "" }),
    delta: (ctx, text) => delta(ctx, { content: text }),
    reasoning: (ctx, text) => delta(ctx, { reasoning_content: text }),
    citations: () => null,
    end: (ctx, s) => [
      delta(ctx, {}, finishReason(s.finishReason)),
      ...(includeUsage ? [chunk(ctx, [], { usage: usage(s) })] : []),
      SSE_DONE,
    ],
    error: (
      _ctx,
      code,
      message,
    ) => [sseEvent({ error: { message, type: "api_error", param: null, code } }), SSE_DONE],
    json: (ctx, s) => ({
      id: `chatcmpl-${ctx.requestId}`,
      object: "chat.completion",
      created,
      model: ctx.model.id,
      system_fingerprint: null,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: s.text,
          refusal: null,
          ...(s.reasoning ? { reasoning_content: s.reasoning } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(s.finishReason),
      }],
      usage: usage(s),
    }),
  };
}
