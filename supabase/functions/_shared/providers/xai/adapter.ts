// xAI Grok (https://docs.x.ai/docs/api-reference#chat-completions), OpenAI Chat Completions with
// one difference that matters to billing: completion_tokens does NOT include the reasoning
// tokens. They are reported apart in completion_tokens_details.reasoning_tokens
// (total_tokens = prompt + completion + reasoning) and billed as output, so billed output =
// completion_tokens + reasoning_tokens. (The recorded responses' own cost_in_usd_ticks match
// exactly that sum at grok-3-mini's output price; see tests/unit/openai-compatible-adapters.)
// Also: grok-3-mini streams its reasoning as `reasoning_content` (grok-4 reasons without
// sending the text, but still bills it); stream usage needs stream_options.include_usage and
// comes in a final choices:[] chunk; Live Search answers carry a top-level `citations` array;
// the output budget is `max_tokens`.

import { openaiAdapter, type OpenAIFlavor } from "../openai/adapter.ts";
import type { ProviderAdapter } from "../types.ts";

export const defaultBaseUrl = "https://api.x.ai/v1";

export const xaiFlavor: OpenAIFlavor = {
  maxTokensParam: "max_tokens",
  reasoningFields: ["reasoning_content"],
  reasoningIncludedInCompletion: false,
  citations: true,
  features: {
    responseFormats: ["json_object", "json_schema"],
    toolChoices: ["none", "required", "named"],
    parallelToolCalls: true,
    reasoningEffort: true,
  },
};

export const xaiAdapter: ProviderAdapter = openaiAdapter(xaiFlavor);
