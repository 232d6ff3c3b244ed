// POST /chat request body (DESIGN.md §4), validated at the boundary.

import { z } from "zod";
import type {
  ChatMessage,
  ReasoningEffort,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
} from "../providers/types.ts";

export const MAX_MESSAGE_CHARS = 100_000;
export const MAX_MESSAGES = 500;

const Message = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: z.string().max(MAX_MESSAGE_CHARS, `at most ${MAX_MESSAGE_CHARS} characters`),
});

export const ChatBody = z.strictObject({
  messages: z.array(Message).min(1, "at least one message").max(
    MAX_MESSAGES,
    `at most ${MAX_MESSAGES} messages`,
  ),
  model: z.string().min(1).max(100).optional(),
  stream: z.boolean().default(true),
  conversationId: z.uuid().optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  maxTokens: z.int().min(1).max(1_000_000).optional(),
  stop: z.array(z.string().min(1).max(100)).max(4).optional(),
  /** What the smart router optimizes for when it chooses (no `model`, or "auto"). */
  routing: z.enum(["balanced", "cheapest", "best"]).optional(),
  /** Fall back to a similar model when the chosen model's provider fails (default true). */
  fallback: z.boolean().default(true),
  /** A new answer to the last user turn, which is already stored: it is not stored again. */
  regenerate: z.boolean().optional(),
  /** Serve and store identical requests from the response cache (default: when temperature is 0). */
  cache: z.boolean().optional(),
}).superRefine((body, ctx) => {
  const last = body.messages.at(-1);
  if (!last) return;
  if (last.role !== "user") {
    ctx.addIssue({
      code: "custom",
      path: ["messages", body.messages.length - 1, "role"],
      message: "the last message must be the user's",
    });
  } else if (!last.content.trim()) {
    ctx.addIssue({
      code: "custom",
      path: ["messages", body.messages.length - 1, "content"],
      message: "must not be empty",
    });
  }
});

export type ChatBody = z.infer<typeof ChatBody>;

/**
 * What the pipeline serves: /chat's body, or another surface's request in its terms. The
 * OpenAI-compatible surface adds what /chat does not take: image parts, tool calls and results
 * in the history, tools, tool_choice, parallel_tool_calls, reasoning_effort and a JSON response
 * format.
 */
export type ChatRequest = Omit<ChatBody, "messages"> & {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  reasoningEffort?: ReasoningEffort;
  responseFormat?: ResponseFormat;
};
