// The OpenAI Chat Completions request, as SDKs send it, validated and mapped to our chat body.

import { z } from "zod";
import { ApiError } from "../http/errors.ts";
import type { ChatBody } from "../chat/schema.ts";
import { MAX_MESSAGE_CHARS, MAX_MESSAGES } from "../chat/schema.ts";

const TextPart = z.object({ type: z.literal("text"), text: z.string() });
const Content = z.union([z.string(), z.array(z.union([TextPart, z.object({ type: z.string() }).loose()]))]);

const Message = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: Content.nullable().optional(),
  name: z.string().optional(),
}).loose();

export const CompletionRequest = z.object({
  model: z.string().min(1).max(100),
  messages: z.array(Message).min(1).max(MAX_MESSAGES),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  max_tokens: z.int().min(1).nullable().optional(),
  max_completion_tokens: z.int().min(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  n: z.literal(1, "only n=1 is supported").nullable().optional(),
  user: z.string().max(256).optional(),
  tools: z.array(z.unknown()).optional(),
  tool_choice: z.unknown().optional(),
  response_format: z.unknown().optional(),
}).loose();

export type CompletionRequest = z.infer<typeof CompletionRequest>;

function text(content: z.infer<typeof Content> | null | undefined, index: number): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content.map((part, i) => {
    if (part.type === "text") return (part as { text: string }).text;
    throw new ApiError(
      "invalid_request",
      `messages[${index}].content[${i}]: only text parts are supported so far`,
      {
        field: `messages.${index}.content.${i}.type`,
      },
    );
  }).join("");
}

/** The same request in our chat body's terms. */
export function toChatBody(req: CompletionRequest): ChatBody {
  if (req.tools?.length || (req.tool_choice !== undefined && req.tool_choice !== "none")) {
    throw new ApiError("invalid_request", "tools are not supported on this endpoint yet", { field: "tools" });
  }
  const messages = req.messages.map((m, i) => {
    if (m.role === "tool") {
      throw new ApiError("invalid_request", "tool messages are not supported yet", {
        field: `messages.${i}.role`,
      });
    }
    const content = text(m.content, i);
    if (content.length > MAX_MESSAGE_CHARS) {
      throw new ApiError("invalid_request", `messages[${i}].content is over ${MAX_MESSAGE_CHARS} characters`);
    }
    return { role: m.role === "developer" ? "system" as const : m.role, content };
  });
  const last = messages.at(-1)!;
  if (last.role !== "user" || !last.content.trim()) {
    throw new ApiError("invalid_request", "the last message must be a non-empty user message", {
      field: "messages",
    });
  }
  return {
    messages,
    model: req.model,
    stream: req.stream ?? false,
    temperature: req.temperature ?? undefined,
    topP: req.top_p ?? undefined,
    maxTokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
    stop: req.stop == null ? undefined : typeof req.stop === "string" ? [req.stop] : req.stop,
    fallback: true,
    cache: false, // answers from the response cache are written only in /chat's format so far
  };
}
