// Groq (https://console.groq.com/docs/api-reference#chat-create), OpenAI Chat Completions with
// these differences:
// - usage arrives in `x_groq.usage` on the finish chunk in older streams, and (also) in the
//   top-level `usage` in newer ones; both are read, top-level first, and reported once;
// - reasoning models (gpt-oss, qwen3 with reasoning_format "parsed") stream their reasoning as
//   `reasoning`, or, with reasoning_format "raw", as a <think>…</think> block opening the
//   content; completion_tokens INCLUDES reasoning tokens, as with OpenAI;
// - the output budget is `max_completion_tokens` (max_tokens is deprecated);
// - errors after the stream began come as an SSE `event: error` whose data is {"error":{…}}.
// The root is under /openai/v1: POST https://api.groq.com/openai/v1/chat/completions.

import { openaiAdapter, type OpenAIFlavor } from "../openai/adapter.ts";
import type { ProviderAdapter } from "../types.ts";

export const defaultBaseUrl = "https://api.groq.com/openai/v1";

export const groqFlavor: OpenAIFlavor = {
  maxTokensParam: "max_completion_tokens",
  reasoningFields: ["reasoning"],
  reasoningIncludedInCompletion: true,
  usageLocations: ["usage", "x_groq.usage"],
  thinkTags: true,
  // JSON mode everywhere; json_schema only on some models (not the Llama ones we list).
  features: {
    responseFormats: ["json_object"],
    toolChoices: ["none", "required", "named"],
    parallelToolCalls: true,
    reasoningEffort: true,
  },
};

export const groqAdapter: ProviderAdapter = openaiAdapter(groqFlavor);
