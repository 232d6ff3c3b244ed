// OpenAI models. Prices in USD from the pricing page, as of the date given: chat models per 1M
// tokens, DALL-E per image, Whisper per minute of audio, TTS per 1M input characters.
//
// Lifecycle (checked 2026-11-24 against stored copies of the deprecations page and model pages;
// the dates come from copies of that page quoted in October 2026 and should be re-read when it
// matters): o1 and o3-mini shut down on 2026-10-23 and dall-e-3 on 2026-05-12; gpt-4o, gpt-4o-mini
// and gpt-4.1 are deprecated with shutdown on 2027-01-14, gpt-5 on 2026-12-11, tts-1/tts-1-hd on
// 2027-01-06 and whisper-1 on 2027-02-26. They stay in the catalog because the product brief names
// them; `isShutDown` (index.ts) tells the router and the API which ones the provider refuses.
//
// The reasoning models (o1, o3-mini, gpt-5) refuse temperature and top_p (fixedSampling) and take
// reasoning_effort (gpt-5 also "minimal"), per OpenAI's reasoning guide.
import type { ModelEntry } from "../schema.ts";

const pricing = { source: "https://openai.com/api/pricing/", asOf: "2025-06-01" };
const all = ["free", "pro", "team", "enterprise"] as const;
const paid = ["pro", "team", "enterprise"] as const;
const deprecations = "https://developers.openai.com/api/docs/deprecations";

// The most tokens one image costs (https://platform.openai.com/docs/guides/images-vision,
// "Calculating costs"): at detail "high" an image is scaled to fit 2048×2048, then its short side
// to 768, and billed per 512-px tile: at most 2×4 = 8 tiles. base + 8 × per-tile, per model family.
const maxTiles = 8;
const OPENAI_TILES_85_170 = 85 + 170 * maxTiles; // gpt-4o, gpt-4.1: 1445
const OPENAI_TILES_MINI = 2833 + 5667 * maxTiles; // gpt-4o-mini bills images at gpt-4o's price: 48169
const OPENAI_TILES_O1 = 75 + 150 * maxTiles; // o1: 1275
const OPENAI_TILES_GPT5 = 70 + 140 * maxTiles; // gpt-5: 1190

export const openaiModels: ModelEntry[] = [
  {
    id: "gpt-4o",
    provider: "openai",
    vendor: "OpenAI",
    name: "GPT-4o",
    apiModel: "gpt-4o",
    capabilities: ["chat", "vision", "tools", "code"],
    imageInputTokens: OPENAI_TILES_85_170,
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    pricing: {
      unit: "tokens",
      inputPerMTok: "2.50",
      cachedInputPerMTok: "1.25",
      outputPerMTok: "10.00",
      ...pricing,
    },
    quality: { general: 8, code: 8, math: 7, reasoning: 7, creative: 8, analysis: 8, research: 6, vision: 8 },
    tiers: [...all],
    lifecycle: { status: "deprecated", shutdownOn: "2027-01-14", source: deprecations },
  },
  {
    id: "gpt-4o-mini",
    provider: "openai",
    vendor: "OpenAI",
    name: "GPT-4o mini",
    apiModel: "gpt-4o-mini",
    capabilities: ["chat", "vision", "tools", "code"],
    imageInputTokens: OPENAI_TILES_MINI,
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.15",
      cachedInputPerMTok: "0.075",
      outputPerMTok: "0.60",
      ...pricing,
    },
    quality: { general: 7, code: 6, math: 6, reasoning: 5, creative: 6, analysis: 7, research: 5, vision: 6 },
    tiers: [...all],
    lifecycle: { status: "deprecated", shutdownOn: "2027-01-14", source: deprecations },
  },
  {
    id: "o1",
    provider: "openai",
    vendor: "OpenAI",
    name: "o1",
    apiModel: "o1",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    fixedSampling: true,
    reasoningEfforts: ["low", "medium", "high"],
    imageInputTokens: OPENAI_TILES_O1,
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    pricing: {
      unit: "tokens",
      inputPerMTok: "15.00",
      cachedInputPerMTok: "7.50",
      outputPerMTok: "60.00",
      ...pricing,
    },
    quality: {
      general: 8,
      code: 9,
      math: 10,
      reasoning: 10,
      creative: 7,
      analysis: 9,
      research: 6,
      vision: 8,
    },
    tiers: [...paid],
    lifecycle: { status: "retired", shutdownOn: "2026-10-23", source: deprecations },
  },
  {
    id: "o3-mini",
    provider: "openai",
    vendor: "OpenAI",
    name: "o3-mini",
    apiModel: "o3-mini",
    capabilities: ["chat", "tools", "reasoning", "code"],
    fixedSampling: true,
    reasoningEfforts: ["low", "medium", "high"],
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    pricing: {
      unit: "tokens",
      inputPerMTok: "1.10",
      cachedInputPerMTok: "0.55",
      outputPerMTok: "4.40",
      ...pricing,
    },
    quality: { general: 7, code: 9, math: 9, reasoning: 9, creative: 5, analysis: 7, research: 5 },
    tiers: [...all],
    lifecycle: { status: "retired", shutdownOn: "2026-10-23", source: deprecations },
  },
  {
    id: "gpt-4.1",
    provider: "openai",
    vendor: "OpenAI",
    name: "GPT-4.1",
    apiModel: "gpt-4.1",
    capabilities: ["chat", "vision", "tools", "code"],
    imageInputTokens: OPENAI_TILES_85_170,
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
    pricing: {
      unit: "tokens",
      inputPerMTok: "2.00",
      cachedInputPerMTok: "0.50",
      outputPerMTok: "8.00",
      ...pricing,
    },
    quality: { general: 8, code: 9, math: 7, reasoning: 7, creative: 8, analysis: 8, research: 6, vision: 8 },
    tiers: [...all],
    lifecycle: { status: "deprecated", shutdownOn: "2027-01-14", source: deprecations },
  },
  {
    id: "gpt-5",
    provider: "openai",
    vendor: "OpenAI",
    name: "GPT-5",
    apiModel: "gpt-5",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    fixedSampling: true,
    reasoningEfforts: ["minimal", "low", "medium", "high"],
    imageInputTokens: OPENAI_TILES_GPT5,
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    maxInputTokens: 272_000, // the 400K window is 272K of prompt and 128K of output
    pricing: {
      unit: "tokens",
      inputPerMTok: "1.25",
      cachedInputPerMTok: "0.125",
      outputPerMTok: "10.00",
      source: pricing.source,
      asOf: "2025-08-07",
    },
    quality: { general: 9, code: 9, math: 9, reasoning: 9, creative: 8, analysis: 9, research: 7, vision: 8 },
    tiers: [...paid],
    lifecycle: { status: "deprecated", shutdownOn: "2026-12-11", source: deprecations },
  },
  // Non-chat models: priced per unit. For these, contextWindow is the request's input limit in
  // the API's own unit (prompt characters for DALL-E and TTS, prompt tokens for Whisper) and
  // maxOutputTokens is what one request returns (images; transcript tokens for Whisper).
  {
    id: "dall-e-3",
    provider: "openai",
    vendor: "OpenAI",
    name: "DALL-E 3",
    apiModel: "dall-e-3",
    capabilities: ["image_generation"],
    contextWindow: 4_000, // prompt characters
    maxOutputTokens: 1, // images per request (n = 1 only)
    // One standard-quality 1024×1024 image. HD or 1024×1792/1792×1024 cost more ($0.08–$0.12):
    // a request for those must be priced separately, never at this rate.
    pricing: { unit: "image", perUnit: "0.04", ...pricing },
    quality: { image_generation: 8 },
    tiers: [...paid],
    lifecycle: {
      status: "retired",
      shutdownOn: "2026-05-12",
      replacement: "gpt-image-1",
      source: deprecations,
    },
  },
  {
    id: "whisper-1",
    provider: "openai",
    vendor: "OpenAI",
    name: "Whisper",
    apiModel: "whisper-1",
    capabilities: ["speech_to_text"],
    contextWindow: 224, // prompt tokens; the audio itself is limited to 25 MB per file
    maxOutputTokens: 448, // transcript tokens per 30-second window
    pricing: { unit: "minute", perUnit: "0.006", ...pricing },
    quality: {},
    tiers: [...paid],
    lifecycle: { status: "deprecated", shutdownOn: "2027-02-26", source: deprecations },
  },
  {
    id: "tts-1",
    provider: "openai",
    vendor: "OpenAI",
    name: "TTS",
    apiModel: "tts-1",
    capabilities: ["text_to_speech"],
    contextWindow: 4_096, // input characters per request
    maxOutputTokens: 1, // one audio file per request
    pricing: { unit: "million_characters", perUnit: "15.00", ...pricing },
    quality: {},
    tiers: [...paid],
    lifecycle: { status: "deprecated", shutdownOn: "2027-01-06", source: deprecations },
  },
  {
    id: "tts-1-hd",
    provider: "openai",
    vendor: "OpenAI",
    name: "TTS HD",
    apiModel: "tts-1-hd",
    capabilities: ["text_to_speech"],
    contextWindow: 4_096,
    maxOutputTokens: 1,
    pricing: { unit: "million_characters", perUnit: "30.00", ...pricing },
    quality: {},
    tiers: [...paid],
    lifecycle: { status: "deprecated", shutdownOn: "2027-01-06", source: deprecations },
  },
];
