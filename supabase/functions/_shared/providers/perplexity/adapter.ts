// Perplexity (https://docs.perplexity.ai/api-reference/chat-completions-post), OpenAI Chat
// Completions with these differences:
// - the answer cites web sources: a top-level `citations` array of URLs (and, in newer
//   responses, `search_results` [{title, url, date}]) on the response and on every stream chunk;
//   they become `citations` events, each URL once;
// - every stream chunk carries a running `usage` total (no stream_options needed); the last one
//   is the bill for the tokens; the final chunk has object "chat.completion.done" and sonar
//   streams may end without `data: [DONE]`;
// - sonar-reasoning(-pro) answers open with a <think>…</think> block in the content: that is
//   reasoning; reasoning tokens, when reported, are a top-level usage.reasoning_tokens and part
//   of completion_tokens;
// - the output budget is `max_tokens`;
// - after the (optional) system messages, user and assistant turns must alternate, starting with
//   the user's (400 "After the (optional) system message(s), user and assistant roles should be
//   alternating"): system messages are joined into one at the front and consecutive same-role
//   turns merged (see openai/turns.ts).
// Not representable in Usage and so not billed from here: per-request search fees, and
// sonar-deep-research's citation_tokens / reasoning_tokens / num_search_queries, which are
// priced apart from output tokens.
// Its SDK root has no /v1: POST https://api.perplexity.ai/chat/completions.

import { openaiAdapter, type OpenAIFlavor } from "../openai/adapter.ts";
import type { ProviderAdapter } from "../types.ts";

export const defaultBaseUrl = "https://api.perplexity.ai";

export const perplexityFlavor: OpenAIFlavor = {
  maxTokensParam: "max_tokens",
  streamUsageOption: false,
  citations: true,
  thinkTags: true,
  alternatingTurns: true,
  // Structured outputs take a JSON schema (or a regex); there is no plain JSON mode, and no tools.
  features: { responseFormats: ["json_schema"], toolChoices: [] },
};

export const perplexityAdapter: ProviderAdapter = openaiAdapter(perplexityFlavor);
