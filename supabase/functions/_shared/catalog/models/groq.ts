// Open-weight models served by Groq (OpenAI-compatible chat completions,
// https://api.groq.com/openai/v1). USD per 1M tokens, on-demand tier, from Groq's pricing page;
// context and max output from Groq's models page. The vendor is the model's maker (Meta, OpenAI).
// Lifecycle in 2026 not confirmed. gpt-oss takes reasoning_effort low, medium or high.
import type { ModelEntry } from "../schema.ts";

const source = "https://groq.com/pricing";
const asOf = "2025-10-01";
const all = ["free", "pro", "team", "enterprise"] as const;

export const groqModels: ModelEntry[] = [
  {
    id: "llama-3.3-70b",
    provider: "groq",
    vendor: "Meta",
    name: "Llama 3.3 70B (Groq)",
    apiModel: "llama-3.3-70b-versatile",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 131_072,
    maxOutputTokens: 32_768,
    pricing: { unit: "tokens", inputPerMTok: "0.59", outputPerMTok: "0.79", source, asOf },
    quality: { general: 7, code: 7, math: 6, reasoning: 6, creative: 7, analysis: 7, research: 5 },
    tiers: [...all],
  },
  {
    id: "llama-3.1-8b",
    provider: "groq",
    vendor: "Meta",
    name: "Llama 3.1 8B Instant (Groq)",
    apiModel: "llama-3.1-8b-instant",
    capabilities: ["chat", "tools"],
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: { unit: "tokens", inputPerMTok: "0.05", outputPerMTok: "0.08", source, asOf },
    quality: { general: 5, code: 4, math: 4, reasoning: 4, creative: 5, analysis: 4, research: 3 },
    tiers: [...all],
  },
  {
    id: "gpt-oss-120b",
    provider: "groq",
    vendor: "OpenAI",
    name: "gpt-oss-120b (Groq)",
    apiModel: "openai/gpt-oss-120b",
    capabilities: ["chat", "tools", "reasoning", "code"],
    reasoningEfforts: ["low", "medium", "high"],
    contextWindow: 131_072,
    maxOutputTokens: 65_536,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.15",
      cachedInputPerMTok: "0.075", // Groq's prompt caching: 50% off cached input
      outputPerMTok: "0.60",
      source,
      asOf,
    },
    quality: { general: 7, code: 8, math: 8, reasoning: 8, creative: 6, analysis: 7, research: 5 },
    tiers: [...all],
  },
];
