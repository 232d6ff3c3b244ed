// Anthropic models (Messages API). USD per 1M tokens from the pricing page: base input, output,
// cache hits (`cachedInputPerMTok`) and 5-minute cache writes (`cacheWriteInputPerMTok`, 1.25×
// input; the 1-hour cache, 2× input, is not used by the gateway). The figures were checked on
// 2026-11-24 against a stored copy of the pricing page, which still lists every model below.
//
// Context windows are 200K: Sonnet 4/4.5 take 1M only behind a beta header, and prompts over
// 200K are billed at long-context rates (2× input, 1.5× output), so the catalog caps them at 200K
// and the single price here is always the one that applies.
//
// Lifecycle: the same pricing page marks Claude Opus 4.1 and Opus 4 "retired" on the Claude API;
// Sonnet 4 and Opus 4 were retired on 2026-06-15, Sonnet 3.7 and Haiku 3.5 on 2026-02-19 (Haiku
// 3.5's replacement: Haiku 4.5), per the deprecations page as quoted in 2026. The brief names Opus
// 4.1, Sonnet 4.5 and Haiku 3.5, so they are listed; `isShutDown` keeps requests away from the
// retired ones. Sonnet 4.5's status on the Claude API could not be confirmed and is left unset.
import type { ModelEntry } from "../schema.ts";

const source = "https://platform.claude.com/docs/en/about-claude/pricing";
const asOf = "2026-11-24";
const deprecations = "https://platform.claude.com/docs/en/about-claude/model-deprecations";
const all = ["free", "pro", "team", "enterprise"] as const;
const paid = ["pro", "team", "enterprise"] as const;

const opusPrice = {
  unit: "tokens",
  inputPerMTok: "15.00",
  cacheWriteInputPerMTok: "18.75",
  cachedInputPerMTok: "1.50",
  outputPerMTok: "75.00",
  source,
  asOf,
} as const;
const sonnetPrice = {
  unit: "tokens",
  inputPerMTok: "3.00",
  cacheWriteInputPerMTok: "3.75",
  cachedInputPerMTok: "0.30",
  outputPerMTok: "15.00",
  source,
  asOf,
} as const;

// One image costs about width × height / 750 tokens; Anthropic scales images down so that one costs
// at most about 1,600 (https://docs.claude.com/en/docs/build-with-claude/vision, "Evaluate image size").
const CLAUDE_IMAGE_TOKENS = 1600;

export const anthropicModels: ModelEntry[] = [
  {
    id: "claude-opus-4-1",
    provider: "anthropic",
    vendor: "Anthropic",
    name: "Claude Opus 4.1",
    apiModel: "claude-opus-4-1-20250805",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: CLAUDE_IMAGE_TOKENS,
    contextWindow: 200_000,
    maxOutputTokens: 32_000,
    pricing: { ...opusPrice },
    quality: {
      general: 9,
      code: 10,
      math: 9,
      reasoning: 9,
      creative: 9,
      analysis: 9,
      research: 7,
      vision: 8,
    },
    tiers: [...paid],
    lifecycle: { status: "retired", source },
  },
  {
    id: "claude-opus-4",
    provider: "anthropic",
    vendor: "Anthropic",
    name: "Claude Opus 4",
    apiModel: "claude-opus-4-20250514",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: CLAUDE_IMAGE_TOKENS,
    contextWindow: 200_000,
    maxOutputTokens: 32_000,
    pricing: { ...opusPrice },
    quality: { general: 9, code: 9, math: 8, reasoning: 9, creative: 9, analysis: 9, research: 7, vision: 8 },
    tiers: [...paid],
    lifecycle: { status: "retired", shutdownOn: "2026-06-15", source: deprecations },
  },
  {
    id: "claude-sonnet-4-5",
    provider: "anthropic",
    vendor: "Anthropic",
    name: "Claude Sonnet 4.5",
    apiModel: "claude-sonnet-4-5-20250929",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: CLAUDE_IMAGE_TOKENS,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: { ...sonnetPrice },
    quality: {
      general: 9,
      code: 10,
      math: 8,
      reasoning: 9,
      creative: 8,
      analysis: 9,
      research: 7,
      vision: 8,
    },
    tiers: [...all],
  },
  {
    id: "claude-sonnet-4",
    provider: "anthropic",
    vendor: "Anthropic",
    name: "Claude Sonnet 4",
    apiModel: "claude-sonnet-4-20250514",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: CLAUDE_IMAGE_TOKENS,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: { ...sonnetPrice },
    quality: { general: 8, code: 9, math: 8, reasoning: 8, creative: 8, analysis: 8, research: 6, vision: 8 },
    tiers: [...all],
    lifecycle: { status: "retired", shutdownOn: "2026-06-15", source: deprecations },
  },
  {
    id: "claude-3-7-sonnet",
    provider: "anthropic",
    vendor: "Anthropic",
    name: "Claude Sonnet 3.7",
    apiModel: "claude-3-7-sonnet-20250219",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: CLAUDE_IMAGE_TOKENS,
    contextWindow: 200_000,
    maxOutputTokens: 64_000, // 128K only behind a beta header
    pricing: { ...sonnetPrice },
    quality: { general: 8, code: 8, math: 7, reasoning: 8, creative: 8, analysis: 8, research: 6, vision: 7 },
    tiers: [...all],
    lifecycle: { status: "retired", shutdownOn: "2026-02-19", source: deprecations },
  },
  {
    id: "claude-haiku-4-5",
    provider: "anthropic",
    vendor: "Anthropic",
    name: "Claude Haiku 4.5",
    apiModel: "claude-haiku-4-5-20251001",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    imageInputTokens: CLAUDE_IMAGE_TOKENS,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: {
      unit: "tokens",
      inputPerMTok: "1.00",
      cacheWriteInputPerMTok: "1.25",
      cachedInputPerMTok: "0.10",
      outputPerMTok: "5.00",
      source,
      asOf,
    },
    quality: { general: 8, code: 8, math: 7, reasoning: 7, creative: 7, analysis: 7, research: 6, vision: 7 },
    tiers: [...all],
  },
  {
    id: "claude-3-5-haiku",
    provider: "anthropic",
    vendor: "Anthropic",
    name: "Claude Haiku 3.5",
    apiModel: "claude-3-5-haiku-20241022",
    // Text in, text out on the Claude API (image input is not listed for it, so no `vision`).
    capabilities: ["chat", "tools", "code"],
    contextWindow: 200_000,
    maxOutputTokens: 8_192,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.80",
      cacheWriteInputPerMTok: "1.00",
      cachedInputPerMTok: "0.08",
      outputPerMTok: "4.00",
      source,
      asOf,
    },
    quality: { general: 6, code: 6, math: 5, reasoning: 5, creative: 6, analysis: 6, research: 5 },
    tiers: [...all],
    lifecycle: {
      status: "retired",
      shutdownOn: "2026-02-19",
      replacement: "claude-haiku-4-5",
      source: deprecations,
    },
  },
];
