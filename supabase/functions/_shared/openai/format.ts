// Answers in OpenAI's exact shapes: `chat.completion`, and for streams `chat.completion.chunk`s
// (the role first, content or tool-call deltas, the finish reason, then — when asked with
// stream_options.include_usage — a last chunk with empty choices and `usage`, then [DONE]).
// Our exact cost rides along in `usage.cost` (and the X-Nexus-Cost header of JSON answers).
//
// Tool calls stream as OpenAI streams them: a call's first chunk has its index, id, type
// "function" and function {name, arguments: ""}; later chunks carry argument fragments under the
// same index. An answer that is only tool calls opens with {role, content: null, tool_calls}
// (as OpenAI does), one with text with {role, content: ""}; its finish_reason is "tool_calls".

import { decimalJson } from "../money.ts";
import { SSE_DONE, sseEvent, sseJson } from "../http/sse.ts";
import { functionCalls } from "../providers/types.ts";
import {
  type AnswerFormat,
  type AnswerHead,
  type AnswerSummary,
  concatBytes,
  type ToolCallPiece,
} from "../chat/format.ts";

type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Provider finish reasons meaning the output budget or the context ran out. */
const LENGTH = [
  "length",
  "max_tokens", // Anthropic, Gemini (MAX_TOKENS), Cohere
  "model_context_window_exceeded", // Anthropic
  "model_length", // Mistral
];
/** Provider finish reasons meaning the answer was withheld or cut by a filter or a refusal. */
const CONTENT_FILTER = [
  "content_filter",
  "refusal", // Anthropic's classifiers stopped the answer
  // Gemini
  "safety",
  "recitation",
  "blocklist",
  "prohibited_content",
  "spii",
  "image_safety",
];

/** A provider's own finish reason in OpenAI's vocabulary; an answer with tool calls ends in "tool_calls". */
export function finishReason(raw: string | null, calledTools = false): FinishReason {
  const r = (raw ?? "stop").toLowerCase();
  if (LENGTH.includes(r)) return "length";
  if (["tool_calls", "tool_use", "tool_call", "function_call"].includes(r)) return "tool_calls";
  if (CONTENT_FILTER.includes(r)) return "content_filter";
  // Gemini ends a function call with STOP; OpenAI clients look for "tool_calls".
  return calledTools ? "tool_calls" : "stop";
}

function usage(s: AnswerSummary) {
  return {
    prompt_tokens: s.inputTokens,
    completion_tokens: s.outputTokens,
    total_tokens: s.inputTokens + s.outputTokens,
    // as OpenAI reports them, when the provider told us
    ...(s.cachedInputTokens !== undefined
      ? { prompt_tokens_details: { cached_tokens: s.cachedInputTokens } }
      : {}),
    ...(s.reasoningTokens !== undefined
      ? { completion_tokens_details: { reasoning_tokens: s.reasoningTokens } }
      : {}),
    cost: decimalJson(s.cost),
  };
}

function toolCallDelta(piece: ToolCallPiece) {
  return piece.first
    ? { index: piece.index, id: piece.id, type: "function", function: { name: piece.name, arguments: "" } }
    : { index: piece.index, function: { arguments: piece.arguments } };
}

/** The format for one answer (it remembers whether the opening delta, with the role, was sent). */
export function openaiFormat(includeUsage: boolean): AnswerFormat {
  const created = Math.floor(Date.now() / 1000);
  let opened = false;
  const chunk = (ctx: AnswerHead, choices: unknown[], extra: Record<string, unknown> = {}) =>
    sseEvent({
      id: `chatcmpl-${ctx.requestId}`,
      object: "chat.completion.chunk",
      created,
      model: ctx.model.id,
      system_fingerprint: null,
      choices,
      ...extra,
    });
  const delta = (ctx: AnswerHead, d: Record<string, unknown>, finish: string | null = null) =>
    chunk(ctx, [{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);
  // A text delta is most of a stream: its bytes are those of delta(ctx, { content: text }), written
  // from the chunk's constant parts, made once per answer (and again if the model changes).
  let textChunk = { requestId: "", model: "", head: "" };
  const TEXT_TAIL = `},"logprobs":null,"finish_reason":null}]}`;
  const textDelta = (ctx: AnswerHead, text: string) => {
    if (textChunk.model !== ctx.model.id || textChunk.requestId !== ctx.requestId) {
      const head = JSON.stringify({
        id: `chatcmpl-${ctx.requestId}`,
        object: "chat.completion.chunk",
        created,
        model: ctx.model.id,
        system_fingerprint: null,
      });
      textChunk = {
        requestId: ctx.requestId,
        model: ctx.model.id,
        head: `${head.slice(0, -1)},"choices":[{"index":0,"delta":{"content":`,
      };
    }
    return sseJson(`${textChunk.head}${JSON.stringify(text)}${TEXT_TAIL}`);
  };
  /** The role goes with the first delta; a text answer opens with an empty content delta first. */
  const open = (ctx: AnswerHead): Uint8Array[] => {
    if (opened) return [];
    opened = true;
    return [delta(ctx, { role: "assistant", content: "", refusal: null })];
  };

  return {
    start: () => null,
    delta: (ctx, text) => opened ? textDelta(ctx, text) : concatBytes([...open(ctx), textDelta(ctx, text)]),
    refusal: (ctx, text) => concatBytes([...open(ctx), delta(ctx, { refusal: text })]),
    reasoning: (ctx, text) => concatBytes([...open(ctx), delta(ctx, { reasoning_content: text })]),
    citations: () => null,
    toolCall: (ctx, piece) => {
      if (!opened && piece.first) {
        opened = true;
        return delta(ctx, {
          role: "assistant",
          content: null,
          tool_calls: [toolCallDelta(piece)],
          refusal: null,
        });
      }
      return concatBytes([...open(ctx), delta(ctx, { tool_calls: [toolCallDelta(piece)] })]);
    },
    end: (ctx, s) => [
      ...open(ctx),
      delta(ctx, {}, finishReason(s.finishReason, s.toolCalls.length > 0)),
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
          // OpenAI's content is null when the answer is only tool calls, or a refusal.
          content: (s.toolCalls.length || s.refusal) && !s.text ? null : s.text,
          refusal: s.refusal || null,
          ...(s.toolCalls.length
            ? {
              tool_calls: functionCalls(s.toolCalls),
            }
            : {}),
          ...(s.reasoning ? { reasoning_content: s.reasoning } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(s.finishReason, s.toolCalls.length > 0),
      }],
      usage: usage(s),
    }),
  };
}
