// Cohere Command models (v2 chat API). USD per 1M input/output tokens from the pricing page.
// Max output from Cohere's model docs (4K for the Command R family, 8K for Command A).
// Lifecycle in 2026 not confirmed.
import type { ModelEntry } from "../schema.ts";

const source = "https://cohere.com/pricing";
const asOf = "2025-10-01";
const all = ["free", "pro", "team", "enterprise"] as const;

export const cohereModels: ModelEntry[] = [
  {
    id: "command-r-plus",
    provider: "cohere",
    vendor: "Cohere",
    name: "Command R+ (08-2024)",
    apiModel: "command-r-plus-08-2024",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    pricing: { unit: "tokens", inputPerMTok: "2.50", outputPerMTok: "10.00", source, asOf },
    quality: { general: 7, code: 6, math: 5, reasoning: 6, creative: 7, analysis: 7, research: 6 },
    tiers: [...all],
  },
  {
    id: "command-a",
    provider: "cohere",
    vendor: "Cohere",
    name: "Command A (03-2025)",
    apiModel: "command-a-03-2025",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 256_000,
    maxOutputTokens: 8_192,
    pricing: { unit: "tokens", inputPerMTok: "2.50", outputPerMTok: "10.00", source, asOf },
    quality: { general: 8, code: 7, math: 6, reasoning: 7, creative: 7, analysis: 8, research: 7 },
    tiers: [...all],
  },
  {
    id: "command-r7b",
    provider: "cohere",
    vendor: "Cohere",
    name: "Command R7B (12-2024)",
    apiModel: "command-r7b-12-2024",
    capabilities: ["chat", "tools"],
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    pricing: { unit: "tokens", inputPerMTok: "0.0375", outputPerMTok: "0.15", source, asOf },
    quality: { general: 5, code: 4, math: 4, reasoning: 4, creative: 5, analysis: 5, research: 4 },
    tiers: [...all],
  },
];
