// OpenAI models. Prices in USD per 1M tokens from the pricing page, as of the date given.
import type { ModelEntry } from "../schema.ts";

const pricing = { source: "https://openai.com/api/pricing/", asOf: "2025-06-01" };
const all = ["free", "pro", "team", "enterprise"] as const;

export const openaiModels: ModelEntry[] = [
  {
    id: "gpt-4o",
    provider: "openai",
    vendor: "OpenAI",
    name: "GPT-4o",
    apiModel: "gpt-4o",
    capabilities: ["chat", "vision", "tools", "code"],
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    pricing: { unit: "tokens", inputPerMTok: "2.50", cachedInputPerMTok: "1.25", outputPerMTok: "10.00", ...pricing },
    quality: { general: 8, code: 8, math: 7, reasoning: 7, creative: 8, analysis: 8, research: 6, vision: 8 },
    tiers: [...all],
  },
  {
    id: "gpt-4o-mini",
    provider: "openai",
    vendor: "OpenAI",
    name: "GPT-4o mini",
    apiModel: "gpt-4o-mini",
    capabilities: ["chat", "vision", "tools", "code"],
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    pricing: { unit: "tokens", inputPerMTok: "0.15", cachedInputPerMTok: "0.075", outputPerMTok: "0.60", ...pricing },
    quality: { general: 7, code: 6, math: 6, reasoning: 5, creative: 6, analysis: 7, research: 5, vision: 6 },
    tiers: [...all],
  },
  {
    id: "o1",
    provider: "openai",
    vendor: "OpenAI",
    name: "o1",
    apiModel: "o1",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    pricing: { unit: "tokens", inputPerMTok: "15.00", cachedInputPerMTok: "7.50", outputPerMTok: "60.00", ...pricing },
    quality: { general: 8, code: 9, math: 10, reasoning: 10, creative: 7, analysis: 9, research: 6, vision: 8 },
    tiers: ["pro", "team", "enterprise"],
  },
  {
    id: "o3-mini",
    provider: "openai",
    vendor: "OpenAI",
    name: "o3-mini",
    apiModel: "o3-mini",
    capabilities: ["chat", "tools", "reasoning", "code"],
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    pricing: { unit: "tokens", inputPerMTok: "1.10", cachedInputPerMTok: "0.55", outputPerMTok: "4.40", ...pricing },
    quality: { general: 7, code: 9, math: 9, reasoning: 9, creative: 5, analysis: 7, research: 5 },
    tiers: [...all],
  },
];
