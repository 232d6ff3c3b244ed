// Perplexity Sonar models (OpenAI-compatible chat completions with built-in web search and
// citations). USD per 1M input/output tokens plus a per-request search fee, which depends on the
// request's `web_search_options.search_context_size`: the fee here is the one for "low", the
// API's default ($5 per 1,000 requests for Sonar, $6 for Sonar Pro and Sonar Reasoning Pro;
// "medium"/"high" cost more, so an adapter must not ask for them at this price).
//
// Max output: Perplexity documents 8K for Sonar Pro and no separate figure for the others; 8,000
// is used for all three as a conservative bound. Lifecycle in 2026 not confirmed.
import type { ModelEntry } from "../schema.ts";

const source = "https://docs.perplexity.ai/getting-started/pricing";
const asOf = "2025-10-01";
const all = ["free", "pro", "team", "enterprise"] as const;

export const perplexityModels: ModelEntry[] = [
  {
    id: "sonar",
    provider: "perplexity",
    vendor: "Perplexity",
    name: "Sonar",
    apiModel: "sonar",
    capabilities: ["chat", "web_search"],
    contextWindow: 128_000,
    maxOutputTokens: 8_000,
    pricing: {
      unit: "tokens",
      inputPerMTok: "1.00",
      outputPerMTok: "1.00",
      requestFee: "0.005",
      source,
      asOf,
    },
    quality: { general: 6, code: 4, math: 4, reasoning: 5, creative: 5, analysis: 6, research: 8 },
    tiers: [...all],
  },
  {
    id: "sonar-pro",
    provider: "perplexity",
    vendor: "Perplexity",
    name: "Sonar Pro",
    apiModel: "sonar-pro",
    capabilities: ["chat", "web_search"],
    contextWindow: 200_000,
    maxOutputTokens: 8_000,
    pricing: {
      unit: "tokens",
      inputPerMTok: "3.00",
      outputPerMTok: "15.00",
      requestFee: "0.006",
      source,
      asOf,
    },
    quality: { general: 7, code: 5, math: 5, reasoning: 6, creative: 6, analysis: 7, research: 9 },
    tiers: [...all],
  },
  {
    id: "sonar-reasoning-pro",
    provider: "perplexity",
    vendor: "Perplexity",
    name: "Sonar Reasoning Pro",
    apiModel: "sonar-reasoning-pro",
    capabilities: ["chat", "web_search", "reasoning"],
    contextWindow: 128_000,
    maxOutputTokens: 8_000,
    pricing: {
      unit: "tokens",
      inputPerMTok: "2.00",
      outputPerMTok: "8.00",
      requestFee: "0.006",
      source,
      asOf,
    },
    quality: { general: 7, code: 6, math: 7, reasoning: 8, creative: 5, analysis: 8, research: 9 },
    tiers: [...all],
  },
];
