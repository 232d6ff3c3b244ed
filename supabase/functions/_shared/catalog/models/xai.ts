// xAI Grok models (OpenAI-compatible chat completions, https://api.x.ai/v1). USD per 1M tokens
// from xAI's models and pricing page (input, cached input, output; reasoning tokens are billed as
// output). xAI documents no output cap separate from the context window, so maxOutputTokens is the
// context window.
//
// Grok 4's context window is capped at 128K here: xAI bills longer prompts at a higher rate, and
// the single price below must be the one that applies. Lifecycle in 2026 not confirmed: grok-2-1212
// is the brief's "Grok 2" and is old; re-check it is still served. Of these, only grok-3-mini takes
// reasoning_effort ("low" or "high"); grok-4 refuses it. The reasoning models (grok-3-mini, grok-4)
// refuse `stop`, presence_penalty and frequency_penalty (400 "Argument not supported on this model:
// stop"; https://docs.x.ai/docs/guides/reasoning): refusesStop.
import type { ModelEntry } from "../schema.ts";

const source = "https://docs.x.ai/docs/models";
const asOf = "2025-10-01";
const all = ["free", "pro", "team", "enterprise"] as const;
const paid = ["pro", "team", "enterprise"] as const;

// xAI documents no per-image token count: the bound is the largest of the other providers' bounds
// for a full-size image (Pixtral's 1024×1024 at one token per 16-px patch), a cautious upper bound.
const GROK_IMAGE_TOKENS = 4160;

export const xaiModels: ModelEntry[] = [
  {
    id: "grok-2",
    provider: "xai",
    vendor: "xAI",
    name: "Grok 2 (1212)",
    apiModel: "grok-2-1212",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: { unit: "tokens", inputPerMTok: "2.00", outputPerMTok: "10.00", source, asOf },
    quality: { general: 7, code: 7, math: 6, reasoning: 6, creative: 7, analysis: 7, research: 5 },
    tiers: [...all],
  },
  {
    id: "grok-3",
    provider: "xai",
    vendor: "xAI",
    name: "Grok 3",
    apiModel: "grok-3",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: {
      unit: "tokens",
      inputPerMTok: "3.00",
      cachedInputPerMTok: "0.75",
      outputPerMTok: "15.00",
      source,
      asOf,
    },
    quality: { general: 8, code: 8, math: 8, reasoning: 8, creative: 8, analysis: 8, research: 6 },
    tiers: [...all],
  },
  {
    id: "grok-3-mini",
    provider: "xai",
    vendor: "xAI",
    name: "Grok 3 Mini",
    apiModel: "grok-3-mini",
    capabilities: ["chat", "tools", "reasoning", "code"],
    reasoningEfforts: ["low", "high"],
    refusesStop: true,
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.30",
      cachedInputPerMTok: "0.075",
      outputPerMTok: "0.50",
      source,
      asOf,
    },
    quality: { general: 7, code: 7, math: 8, reasoning: 8, creative: 5, analysis: 7, research: 5 },
    tiers: [...all],
  },
  {
    id: "grok-4",
    provider: "xai",
    vendor: "xAI",
    name: "Grok 4 (0709)",
    apiModel: "grok-4-0709",
    capabilities: ["chat", "vision", "tools", "reasoning", "code"],
    refusesStop: true,
    imageInputTokens: GROK_IMAGE_TOKENS,
    contextWindow: 128_000,
    maxOutputTokens: 128_000,
    pricing: {
      unit: "tokens",
      inputPerMTok: "3.00",
      cachedInputPerMTok: "0.75",
      outputPerMTok: "15.00",
      source,
      asOf,
    },
    quality: { general: 9, code: 9, math: 9, reasoning: 9, creative: 8, analysis: 9, research: 7, vision: 8 },
    tiers: [...paid],
  },
];
