// A local OpenAI-compatible server: Ollama (https://github.com/ollama/ollama/blob/main/docs/openai.md)
// by default, or llama.cpp, vLLM, LM Studio at LOCAL_BASE_URL. Differences from OpenAI:
// - `max_tokens`, the one output budget every such server understands;
// - reasoning text as `reasoning` (Ollama, LM Studio) or `reasoning_content` (vLLM, llama.cpp),
//   or, from servers that pass a model's output through raw, a <think>…</think> block opening
//   the content;
// - usage is asked for with stream_options.include_usage, but a server may not report it: then
//   no usage event is emitted at all (never zeros) and the pipeline estimates the tokens;
// - no API key needed: without one, no Authorization header is sent.

import { openaiAdapter, type OpenAIFlavor } from "../openai/adapter.ts";
import type { ProviderAdapter } from "../types.ts";

export const defaultBaseUrl = "http://127.0.0.1:11434/v1";

export const localFlavor: OpenAIFlavor = {
  maxTokensParam: "max_tokens",
  reasoningFields: ["reasoning", "reasoning_content"],
  reasoningIncludedInCompletion: true,
  apiKeyOptional: true,
  thinkTags: true,
  // Ollama maps response_format to its `format` (JSON or a schema); it ignores tool_choice.
  features: { responseFormats: ["json_object", "json_schema"], toolChoices: [] },
};

export const localAdapter: ProviderAdapter = openaiAdapter(localFlavor);
