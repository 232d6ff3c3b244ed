// Mistral AI models (La Plateforme, OpenAI-compatible chat completions). USD per 1M tokens from
// the pricing page. Dated model ids are used, not `-latest` aliases, so the price cannot change
// under an entry: `mistral-large-latest` has since moved to a newer, differently priced model.
//
// Mistral documents no output cap separate from the context window (prompt + output must fit it),
// so maxOutputTokens is the context window. Lifecycle of these dated ids in 2026 was not
// confirmed (Mistral retires dated versions on its own schedule): re-check before relying on it.
import type { ModelEntry } from "../schema.ts";

const source = "https://mistral.ai/pricing#api-pricing";
const asOf = "2025-10-01";
const all = ["free", "pro", "team", "enterprise"] as const;

// Pixtral reads images in 16×16-pixel patches, one token each plus a break token per row, up to
// 1024×1024 (larger images are scaled down): 64 × 64 + 64 = 4160 tokens at most
// (https://docs.mistral.ai/capabilities/vision/).
const PIXTRAL_IMAGE_TOKENS = 64 * 64 + 64;

export const mistralModels: ModelEntry[] = [
  {
    id: "mistral-large-2",
    provider: "mistral",
    vendor: "Mistral AI",
    name: "Mistral Large 2 (24.11)",
    apiModel: "mistral-large-2411",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: { unit: "tokens", inputPerMTok: "2.00", outputPerMTok: "6.00", source, asOf },
    quality: { general: 8, code: 8, math: 7, reasoning: 7, creative: 7, analysis: 8, research: 5 },
    tiers: [...all],
  },
  {
    id: "codestral",
    provider: "mistral",
    vendor: "Mistral AI",
    name: "Codestral (25.08)",
    apiModel: "codestral-2508",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 256_000,
    maxOutputTokens: 256_000,
    pricing: { unit: "tokens", inputPerMTok: "0.30", outputPerMTok: "0.90", source, asOf },
    quality: { general: 5, code: 8, math: 5, reasoning: 5, creative: 4, analysis: 5, research: 4 },
    tiers: [...all],
  },
  {
    id: "pixtral-large",
    provider: "mistral",
    vendor: "Mistral AI",
    name: "Pixtral Large (24.11)",
    apiModel: "pixtral-large-2411",
    capabilities: ["chat", "vision", "tools", "code"],
    imageInputTokens: PIXTRAL_IMAGE_TOKENS,
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: { unit: "tokens", inputPerMTok: "2.00", outputPerMTok: "6.00", source, asOf },
    quality: { general: 8, code: 7, math: 7, reasoning: 7, creative: 7, analysis: 8, research: 5, vision: 8 },
    tiers: [...all],
  },
  {
    id: "mistral-small",
    provider: "mistral",
    vendor: "Mistral AI",
    name: "Mistral Small 3.2",
    apiModel: "mistral-small-2506",
    capabilities: ["chat", "vision", "tools", "code"],
    imageInputTokens: PIXTRAL_IMAGE_TOKENS,
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: { unit: "tokens", inputPerMTok: "0.10", outputPerMTok: "0.30", source, asOf },
    quality: { general: 6, code: 6, math: 6, reasoning: 5, creative: 6, analysis: 6, research: 4, vision: 6 },
    tiers: [...all],
  },
  {
    id: "ministral-8b",
    provider: "mistral",
    vendor: "Mistral AI",
    name: "Ministral 8B",
    apiModel: "ministral-8b-2410",
    capabilities: ["chat", "tools"],
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: { unit: "tokens", inputPerMTok: "0.10", outputPerMTok: "0.10", source, asOf },
    quality: { general: 5, code: 4, math: 4, reasoning: 4, creative: 5, analysis: 4, research: 3 },
    tiers: [...all],
  },
];
