// DeepSeek (https://api-docs.deepseek.com/api/create-chat-completion), OpenAI Chat Completions
// with these differences:
// - the output budget is `max_tokens` (for deepseek-reasoner it covers the chain of thought too);
// - deepseek-reasoner streams its chain of thought as `reasoning_content` (content null), then the
//   answer as `content`; completion_tokens INCLUDES the reasoning tokens
//   (completion_tokens_details.reasoning_tokens), as with OpenAI;
// - cache hits are reported as `prompt_cache_hit_tokens` (prompt_tokens = hit + miss), its own
//   field, read first; newer responses repeat them as prompt_tokens_details.cached_tokens;
// - stream usage needs stream_options.include_usage; it arrives on the finish chunk.
// Its SDK root has no /v1: POST https://api.deepseek.com/chat/completions.

import { openaiAdapter, type OpenAIFlavor } from "../openai/adapter.ts";
import type { ProviderAdapter } from "../types.ts";

export const defaultBaseUrl = "https://api.deepseek.com";

export const deepseekFlavor: OpenAIFlavor = {
  maxTokensParam: "max_tokens",
  reasoningFields: ["reasoning_content"],
  reasoningIncludedInCompletion: true,
  cachedTokensFields: ["prompt_cache_hit_tokens", "prompt_tokens_details.cached_tokens"],
  // JSON Output is json_object only (https://api-docs.deepseek.com/guides/json_mode).
  features: { responseFormats: ["json_object"], toolChoices: ["none", "required", "named"] },
};

export const deepseekAdapter: ProviderAdapter = openaiAdapter(deepseekFlavor);
