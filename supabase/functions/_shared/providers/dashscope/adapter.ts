// Alibaba Cloud Model Studio / DashScope, Qwen models in OpenAI-compatible mode
// (https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope),
// with these differences:
// - streams report usage only when asked with stream_options.include_usage (then in a final
//   choices:[] chunk), so it is always sent;
// - thinking models (qwen3 with enable_thinking, QwQ) stream reasoning as `reasoning_content`;
//   completion_tokens includes it;
// - cache hits in prompt_tokens_details.cached_tokens; the output budget is `max_tokens`.
// The international endpoint is the default root (mainland China: dashscope.aliyuncs.com).

import { openaiAdapter, type OpenAIFlavor } from "../openai/adapter.ts";
import type { ProviderAdapter } from "../types.ts";

export const defaultBaseUrl = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1";

export const dashscopeFlavor: OpenAIFlavor = {
  maxTokensParam: "max_tokens",
  streamUsageOption: true,
  reasoningFields: ["reasoning_content"],
  reasoningIncludedInCompletion: true,
  // json_schema only on the newest Qwen models; tool_choice "required" is not honoured.
  features: { responseFormats: ["json_object"], toolChoices: ["none", "named"] },
};

export const dashscopeAdapter: ProviderAdapter = openaiAdapter(dashscopeFlavor);
