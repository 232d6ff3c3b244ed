// A live request's context for unit tests of the answer formats and the stream (no stack).

import type { ChatContext } from "../../supabase/functions/_shared/chat/pipeline.ts";
import { type ChatModel, findModel } from "../../supabase/functions/_shared/catalog/index.ts";

export function chatContext(modelId: string, requestId = "req"): ChatContext {
  return {
    requestId,
    body: { messages: [], stream: true, fallback: true },
    model: findModel(modelId) as ChatModel,
    fallbacks: [],
    conversationId: null,
    messageId: "m",
    routing: { selection: "explicit", reason: "test" },
    headers: {},
    promptTokens: () => 10,
    startedAt: 0,
    attempts: [],
  };
}
