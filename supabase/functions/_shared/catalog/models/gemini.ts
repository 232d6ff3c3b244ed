// Google models on the Gemini Developer API (generateContent), paid tier. USD per 1M tokens for
// text/image/video input (audio input costs more and is not sent by the gateway), output
// (thinking tokens included) and context-cache reads; Imagen per image.
//
// Gemini 2.5 Pro and 1.5 Pro charge more for long prompts (over 200K and 128K tokens): their
// context windows are capped at those thresholds here so that the one price given is always the
// price that applies (the API accepts 1M / 2M tokens).
//
// Lifecycle (official deprecation pages, checked 2026-11-24): gemini-1.5-pro shut down on
// 2025-09-24, imagen-3.0-generate-002 on 2025-11-10, gemini-2.0-flash on 2026-06-01; gemini-2.5-pro
// and gemini-2.5-flash are deprecated with shutdown on 2026-12-01 (this date is from a copy of the
// deprecations page quoted on 2026-11-10). They stay in the catalog because the product brief
// names them. gemini-2.5-flash-lite remained available "until further notice".
import type { ModelEntry } from "../schema.ts";

const source = "https://ai.google.dev/gemini-api/docs/pricing";
const asOf = "2025-10-01";
const deprecations = "https://ai.google.dev/gemini-api/docs/deprecations";
const all = ["free", "pro", "team", "enterprise"] as const;
const paid = ["pro", "team", "enterprise"] as const;

// An image up to 384×384 costs 258 tokens; larger ones are cut into 768×768 tiles of 258 tokens
// each (https://ai.google.dev/gemini-api/docs/tokens, "Multimodal tokens"). Bounded here by 16
// tiles (a 3072×3072 image, the largest Gemini processes before scaling it down).
const GEMINI_IMAGE_TOKENS = 258 * 16;

export const geminiModels: ModelEntry[] = [
  {
    id: "gemini-2.0-flash",
    provider: "gemini",
    vendor: "Google",
    name: "Gemini 2.0 Flash",
    apiModel: "gemini-2.0-flash",
    capabilities: ["chat", "vision", "tools", "code"],
    imageInputTokens: GEMINI_IMAGE_TOKENS,
    contextWindow: 1_048_576,
    maxOutputTokens: 8_192,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.10",
      cachedInputPerMTok: "0.025",
      outputPerMTok: "0.40",
      source,
      asOf,
    },
    quality: { general: 7, code: 7, math: 7, reasoning: 6, creative: 6, analysis: 7, research: 6, vision: 7 },
    tiers: [...all],
    lifecycle: {
      status: "retired",
      shutdownOn: "2026-06-01",
      replacement: "gemini-2.5-flash",
      source: "https://firebase.google.com/docs/ai-logic/prompt-design",
    },
  },
  {
    id: "gemini-1.5-pro",
    provider: "gemini",
    vendor: "Google",
    name: "Gemini 1.5 Pro",
    apiModel: "gemini-1.5-pro",
    capabilities: ["chat", "vision", "tools", "code"],
    imageInputTokens: GEMINI_IMAGE_TOKENS,
    contextWindow: 128_000, // the ≤128K price tier (the model took 2M tokens at 2× the price)
    maxOutputTokens: 8_192,
    pricing: {
      unit: "tokens",
      inputPerMTok: "1.25",
      cachedInputPerMTok: "0.3125",
      outputPerMTok: "5.00",
      source,
      asOf: "2025-06-01",
    },
    quality: { general: 7, code: 7, math: 7, reasoning: 7, creative: 7, analysis: 8, research: 6, vision: 8 },
    tiers: [...all],
    lifecycle: {
      status: "retired",
      shutdownOn: "2025-09-24",
      replacement: "gemini-2.5-pro",
      source: deprecations,
    },
  },
  {
    id: "gemini-2.5-pro",
    provider: "gemini",
    vendor: "Google",
    name: "Gemini 2.5 Pro",
    apiModel: "gemini-2.5-pro",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: GEMINI_IMAGE_TOKENS,
    contextWindow: 200_000, // the ≤200K price tier (above it: $2.50 in / $15.00 out)
    maxOutputTokens: 65_536,
    pricing: {
      unit: "tokens",
      inputPerMTok: "1.25",
      cachedInputPerMTok: "0.125",
      outputPerMTok: "10.00",
      source,
      asOf,
    },
    quality: { general: 9, code: 9, math: 9, reasoning: 9, creative: 8, analysis: 9, research: 7, vision: 9 },
    tiers: [...all],
    lifecycle: { status: "deprecated", shutdownOn: "2026-12-01", source: deprecations },
  },
  {
    id: "gemini-2.5-flash",
    provider: "gemini",
    vendor: "Google",
    name: "Gemini 2.5 Flash",
    apiModel: "gemini-2.5-flash",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: GEMINI_IMAGE_TOKENS,
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.30",
      // Cache reads: $0.03 on the pricing page from autumn 2025 (it was $0.075 at launch).
      cachedInputPerMTok: "0.03",
      outputPerMTok: "2.50",
      source,
      asOf,
    },
    quality: { general: 8, code: 8, math: 8, reasoning: 8, creative: 7, analysis: 8, research: 6, vision: 8 },
    tiers: [...all],
    lifecycle: { status: "deprecated", shutdownOn: "2026-12-01", source: deprecations },
  },
  {
    id: "gemini-2.5-flash-lite",
    provider: "gemini",
    vendor: "Google",
    name: "Gemini 2.5 Flash-Lite",
    apiModel: "gemini-2.5-flash-lite",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: GEMINI_IMAGE_TOKENS,
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.10",
      // Cache reads: $0.01 on the pricing page from autumn 2025 (it was $0.025 at launch).
      cachedInputPerMTok: "0.01",
      outputPerMTok: "0.40",
      source,
      asOf,
    },
    quality: { general: 6, code: 6, math: 6, reasoning: 5, creative: 5, analysis: 6, research: 5, vision: 6 },
    tiers: [...all],
  },
  {
    id: "imagen-3",
    provider: "gemini",
    vendor: "Google",
    name: "Imagen 3",
    apiModel: "imagen-3.0-generate-002",
    capabilities: ["image_generation"],
    contextWindow: 480, // prompt tokens
    maxOutputTokens: 4, // images per request (numberOfImages 1–4, each billed)
    pricing: { unit: "image", perUnit: "0.03", source, asOf: "2025-06-01" },
    quality: { image_generation: 8 },
    tiers: [...paid],
    lifecycle: {
      status: "retired",
      shutdownOn: "2025-11-10",
      replacement: "imagen-4.0-generate-001",
      source: deprecations,
    },
  },
];
