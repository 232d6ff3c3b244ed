// Mistral (https://docs.mistral.ai/api/#tag/chat), OpenAI Chat Completions with these differences:
// - the output budget is `max_tokens`; unknown fields are rejected (422 "Extra inputs are not
//   permitted"), stream_options included, so it is never sent: Mistral always puts usage on the
//   last chunk of a stream, with the finish reason;
// - content can be an array of typed chunks: magistral models stream
//   [{"type":"thinking","thinking":[{"type":"text","text":…}]}] before the answer's
//   {"type":"text"} chunks or plain strings; thinking is reasoning, and completion_tokens
//   counts it (there is no separate reasoning_tokens field);
// - tool calls may arrive whole or in pieces (a first delta with id and name, later ones with
//   an empty name and the arguments);
// - tool call ids must be exactly 9 letters and digits (400 "Tool call id was … but must be a-z,
//   A-Z, 0-9, with a length of 9"): ours (call_…), Anthropic's (toolu_…) and OpenAI's are mapped
//   to such ids in the requests (Mistral's own ids pass unchanged);
// - a function tool's `strict` is honoured (its API's Function has name, description, strict,
//   parameters), so it is sent.

import { openaiAdapter, type OpenAIFlavor } from "../openai/adapter.ts";
import type { ProviderAdapter } from "../types.ts";

export const defaultBaseUrl = "https://api.mistral.ai/v1";

export const mistralFlavor: OpenAIFlavor = {
  maxTokensParam: "max_tokens",
  streamUsageOption: false,
  typedContentChunks: true,
  reasoningIncludedInCompletion: true,
  toolCallIds: "alnumLength9",
  strictTools: true,
  features: {
    responseFormats: ["json_object", "json_schema"],
    toolChoices: ["none", "required", "named"],
    parallelToolCalls: true,
  },
};

export const mistralAdapter: ProviderAdapter = openaiAdapter(mistralFlavor);
