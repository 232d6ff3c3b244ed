// The OpenAI Chat Completions request, as SDKs send it, validated and mapped to our chat request:
// text and image parts, assistant tool calls and `tool` results in the history, tools,
// tool_choice, parallel_tool_calls, reasoning_effort and response_format.
//
// A field asking for something we cannot honour is a 400 naming the field (REFUSED below: log
// probabilities, audio, the legacy functions, penalties and logit_bias, web search), unless it
// holds the value that asks for nothing (logprobs false, modalities ["text"], a penalty of 0…).
// Fields that leave the answer as it is are accepted and ignored: hints (user, seed, metadata,
// store, service_tier, prediction, prompt_cache_key, safety_identifier) and any field newer than
// this code, since the SDKs send their new optional fields before we know them.

import { z } from "zod";
import { ApiError } from "../http/errors.ts";
import type { ChatRequest } from "../chat/schema.ts";
import { MAX_MESSAGE_CHARS, MAX_MESSAGES } from "../chat/schema.ts";
import type { ChatMessage, ContentPart, ResponseFormat, ToolChoice } from "../providers/types.ts";
import { REASONING_EFFORTS } from "../providers/types.ts";

/** Most tools one request may offer (OpenAI's own limit). */
export const MAX_TOOLS = 128;

const Part = z.object({ type: z.string() }).loose();
const Content = z.union([z.string(), z.array(Part)]);

const ToolCallIn = z.object({
  id: z.string().min(1).max(256),
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1).max(64), arguments: z.string() }),
});

const Message = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: Content.nullable().optional(),
  name: z.string().optional(),
  tool_calls: z.array(ToolCallIn).max(MAX_TOOLS).nullable().optional(),
  tool_call_id: z.string().min(1).max(256).optional(),
}).loose();

const FunctionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "letters, digits, _ and -, at most 64");
const JsonSchema = z.record(z.string(), z.unknown());

const Tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: FunctionName,
    description: z.string().max(10_000).optional(),
    parameters: JsonSchema.optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ToolChoiceIn = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: FunctionName }) }),
]);

const ResponseFormatIn = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: FunctionName,
      description: z.string().max(10_000).optional(), // as a tool's: it is prompt text too
      schema: JsonSchema.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

export const CompletionRequest = z.object({
  model: z.string().min(1).max(100),
  messages: z.array(Message).min(1).max(MAX_MESSAGES),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  max_tokens: z.int().min(1).nullable().optional(),
  max_completion_tokens: z.int().min(1).nullable().optional(),
  // Empty stop sequences are refused, as /chat refuses them: a stop at "" has no meaning (Anthropic
  // answers it 400 "each stop sequence must be non-empty"). Whitespace-only ones are valid and go
  // to the models whose providers take them (see providers/capabilities.ts).
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullable().optional(),
  n: z.literal(1, "only n=1 is supported").nullable().optional(),
  user: z.string().max(256).optional(),
  tools: z.array(Tool).max(MAX_TOOLS).nullable().optional(),
  tool_choice: ToolChoiceIn.nullable().optional(),
  /** false: only models whose provider can be held to one call per answer (see capabilities.ts). */
  parallel_tool_calls: z.boolean().nullable().optional(),
  /** Only models whose catalog entry takes the value (see capabilities.ts). */
  reasoning_effort: z.enum(REASONING_EFFORTS).nullable().optional(),
  response_format: ResponseFormatIn.nullable().optional(),
  // Refused unless they ask for nothing (see REFUSED).
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.int().min(0).max(20).nullable().optional(),
  modalities: z.array(z.string()).nullable().optional(),
  audio: z.unknown().optional(),
  functions: z.unknown().optional(),
  function_call: z.unknown().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z.record(z.string(), z.number()).nullable().optional(),
  web_search_options: z.unknown().optional(),
}).loose();

export type CompletionRequest = z.infer<typeof CompletionRequest>;

function invalid(message: string, field: string): ApiError {
  return new ApiError("invalid_request", message, { field });
}

/**
 * Fields we cannot honour, each with whether a value asks for nothing (absent and null ask for
 * nothing too; the schema above has checked each value's type) and why it is refused otherwise.
 */
const REFUSED: Record<string, { asksNothing: (v: unknown) => boolean; why: string }> = {
  logprobs: { asksNothing: (v) => v === false, why: "log probabilities are not available" },
  top_logprobs: { asksNothing: (v) => v === 0, why: "log probabilities are not available" },
  modalities: {
    asksNothing: (v) => (v as string[]).every((m) => m === "text"),
    why: 'only the "text" modality is served',
  },
  audio: { asksNothing: () => false, why: "audio output is not served" },
  functions: { asksNothing: () => false, why: "the legacy functions are not supported; use tools" },
  function_call: {
    asksNothing: () => false,
    why: "the legacy function_call is not supported; use tool_choice",
  },
  presence_penalty: { asksNothing: (v) => v === 0, why: "penalties are not supported" },
  frequency_penalty: { asksNothing: (v) => v === 0, why: "penalties are not supported" },
  logit_bias: {
    asksNothing: (v) => Object.keys(v as object).length === 0,
    why: "logit_bias is not supported",
  },
  web_search_options: {
    asksNothing: () => false,
    why: "web search is not an option here (choose a web_search model)",
  },
};

function refuseUnhonoured(req: CompletionRequest): void {
  for (const [field, rule] of Object.entries(REFUSED)) {
    const value = (req as Record<string, unknown>)[field];
    if (value != null && !rule.asksNothing(value)) throw invalid(`${field}: ${rule.why}`, field);
  }
}

/** An image URL we pass on: http(s), or a base64 data: URL of an image. */
function imageUrl(url: unknown, field: string): string {
  if (
    typeof url !== "string" || !/^(https?:\/\/\S+|data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+)$/i.test(url)
  ) {
    throw invalid(`${field}: an image URL must be http(s) or a base64 data:image/… URL`, field);
  }
  return url;
}

function userParts(parts: z.infer<typeof Part>[], i: number): ContentPart[] {
  return parts.map((part, j) => {
    const field = `messages.${i}.content.${j}`;
    if (part.type === "text") {
      if (typeof part.text !== "string") throw invalid(`${field}.text must be a string`, `${field}.text`);
      return { type: "text", text: part.text };
    }
    if (part.type === "image_url") {
      const image = part.image_url as { url?: unknown; detail?: unknown } | undefined;
      const detail = image?.detail;
      if (detail !== undefined && !["auto", "low", "high"].includes(detail as string)) {
        throw invalid(`${field}.image_url.detail must be auto, low or high`, `${field}.image_url.detail`);
      }
      return {
        type: "image",
        url: imageUrl(image?.url, `${field}.image_url.url`),
        ...(detail ? { detail: detail as "auto" | "low" | "high" } : {}),
      };
    }
    throw invalid(
      `${field}: content parts of type ${part.type} are not supported (text and image_url are)`,
      `${field}.type`,
    );
  });
}

/** Text of system, assistant and tool content: a string or text parts (refusals are text too). */
function plainText(content: z.infer<typeof Content> | null | undefined, i: number): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content.map((part, j) => {
    if (part.type === "text" && typeof part.text === "string") return part.text;
    if (part.type === "refusal" && typeof part.refusal === "string") return part.refusal;
    throw invalid(
      `messages.${i}.content.${j}: only text parts are allowed in this message's content`,
      `messages.${i}.content.${j}.type`,
    );
  }).join("");
}

function toMessage(m: z.infer<typeof Message>, i: number, calledIds: Set<string>): ChatMessage {
  switch (m.role) {
    case "system":
    case "developer":
      return { role: "system", content: plainText(m.content, i) };
    case "user":
      return {
        role: "user",
        content: Array.isArray(m.content) ? userParts(m.content, i) : (m.content ?? ""),
      };
    case "assistant": {
      const toolCalls = (m.tool_calls ?? []).map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      }));
      for (const c of toolCalls) calledIds.add(c.id);
      return {
        role: "assistant",
        content: plainText(m.content, i),
        ...(toolCalls.length ? { toolCalls } : {}),
      };
    }
    case "tool":
      if (!m.tool_call_id) {
        throw invalid(`messages.${i}.tool_call_id is required`, `messages.${i}.tool_call_id`);
      }
      if (!calledIds.has(m.tool_call_id)) {
        throw invalid(
          `messages.${i}: a tool message must answer a tool call of an earlier assistant message (no call ${m.tool_call_id})`,
          `messages.${i}.tool_call_id`,
        );
      }
      return { role: "tool", content: plainText(m.content, i), toolCallId: m.tool_call_id };
  }
}

function toolChoice(req: CompletionRequest): ToolChoice | undefined {
  const choice = req.tool_choice;
  if (choice == null) return undefined;
  if (typeof choice === "string") {
    if (!req.tools?.length) {
      if (choice === "none") return undefined; // nothing to call anyway
      throw invalid(`tool_choice "${choice}" needs tools`, "tool_choice");
    }
    return choice;
  }
  const name = choice.function.name;
  if (!req.tools?.some((t) => t.function.name === name)) {
    throw invalid(`tool_choice names ${name}, which is not among the tools`, "tool_choice");
  }
  return { name };
}

function responseFormat(req: CompletionRequest): ResponseFormat | undefined {
  const f = req.response_format;
  if (!f || f.type === "text") return undefined;
  if (f.type === "json_object") return { type: "json_object" };
  const { name, description, schema, strict } = f.json_schema;
  return {
    type: "json_schema",
    name,
    ...(description ? { description } : {}),
    ...(schema ? { schema } : {}),
    ...(strict != null ? { strict } : {}),
  };
}

/** The same request in our chat request's terms. */
export function toChatBody(req: CompletionRequest): ChatRequest {
  refuseUnhonoured(req);
  const calledIds = new Set<string>();
  const messages = req.messages.map((m, i) => {
    const message = toMessage(m, i, calledIds);
    const text = typeof message.content === "string"
      ? message.content
      : message.content.map((p) => (p.type === "text" ? p.text : "")).join("");
    if (text.length > MAX_MESSAGE_CHARS) {
      throw invalid(
        `messages[${i}].content is over ${MAX_MESSAGE_CHARS} characters`,
        `messages.${i}.content`,
      );
    }
    return message;
  });
  const last = messages.at(-1)!;
  const lastIsQuestion = last.role === "user" &&
    (typeof last.content === "string" ? last.content.trim() !== "" : last.content.length > 0);
  if (!lastIsQuestion && last.role !== "tool") {
    throw invalid("the last message must be a non-empty user message or a tool result", "messages");
  }
  const tools = req.tools?.length
    ? req.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      ...(t.function.parameters ? { parameters: t.function.parameters } : {}),
      ...(t.function.strict != null ? { strict: t.function.strict } : {}),
    }))
    : undefined;
  if (tools && new Set(tools.map((t) => t.name)).size !== tools.length) {
    throw invalid("tools: function names must be unique", "tools");
  }
  const choice = toolChoice(req);
  const format = responseFormat(req);
  return {
    messages,
    model: req.model,
    stream: req.stream ?? false,
    temperature: req.temperature ?? undefined,
    topP: req.top_p ?? undefined,
    maxTokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
    stop: req.stop == null ? undefined : typeof req.stop === "string" ? [req.stop] : req.stop,
    fallback: true,
    ...(tools ? { tools } : {}),
    ...(choice ? { toolChoice: choice } : {}),
    ...(req.parallel_tool_calls != null && tools ? { parallelToolCalls: req.parallel_tool_calls } : {}),
    ...(req.reasoning_effort ? { reasoningEffort: req.reasoning_effort } : {}),
    ...(format ? { responseFormat: format } : {}),
  };
}
