// The shape of a catalog entry, validated at load: a model without an exact price (or with a
// malformed one) stops the function from starting instead of being billed at $0.

import { z } from "zod";
import { perTokenUnits } from "../money.ts";
import { REASONING_EFFORTS } from "../providers/types.ts";

export const CAPABILITIES = [
  "chat",
  "vision",
  "tools",
  "reasoning",
  "web_search",
  "code",
  "image_generation",
  "speech_to_text",
  "text_to_speech",
] as const;

export const INTENTS = [
  "general",
  "code",
  "math",
  "reasoning",
  "creative",
  "analysis",
  "research",
  "vision",
  "image_generation",
] as const;

export const TIERS = ["free", "pro", "team", "enterprise"] as const;

const decimal = z.string().regex(/^\d+(\.\d+)?$/, 'a decimal string such as "2.50"');
const perMTok = decimal.refine((d) => {
  try {
    perTokenUnits(d);
    return true;
  } catch {
    return false;
  }
}, "at most 12 decimals");

const source = { source: z.url(), asOf: z.iso.date() };

export const TokenPricing = z.object({
  unit: z.literal("tokens"),
  inputPerMTok: perMTok,
  outputPerMTok: perMTok,
  cachedInputPerMTok: perMTok.optional(),
  cacheWriteInputPerMTok: perMTok.optional(),
  /**
   * A fixed charge per request on top of the tokens, e.g. Perplexity's search fee (per request at
   * the default "low" search context size). Part of the price: cost and worst case must add it.
   */
  requestFee: decimal.optional(),
  ...source,
});

export const UnitPricing = z.object({
  unit: z.enum(["image", "minute", "million_characters"]),
  perUnit: decimal,
  ...source,
});

/**
 * Where the provider has announced (or carried out) the model's shutdown. A shut-down model keeps
 * its catalog entry and its last price (usage already billed refers to it), but the provider
 * refuses requests for it: see `isShutDown` in index.ts.
 */
export const Lifecycle = z.object({
  /** What the source said when checked: "deprecated" (still served) or "retired" (refused). */
  status: z.enum(["deprecated", "retired"]),
  /** The first day the provider refuses requests, when the source gives one. */
  shutdownOn: z.iso.date().optional(),
  /** The provider's model id it recommends instead, when it names one. */
  replacement: z.string().min(1).optional(),
  source: z.url(),
});

export const ModelEntry = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9.\-]*$/),
  provider: z.string().regex(/^[a-z]+$/),
  vendor: z.string().min(1),
  name: z.string().min(1),
  apiModel: z.string().min(1),
  capabilities: z.array(z.enum(CAPABILITIES)).min(1),
  contextWindow: z.int().positive(),
  maxOutputTokens: z.int().positive(),
  /**
   * The most prompt tokens the model takes, where the provider limits the prompt below the
   * context window (gpt-5: 400K in all, of which at most 272K prompt): see `fitsContext`.
   */
  maxInputTokens: z.int().positive().optional(),
  pricing: z.discriminatedUnion("unit", [TokenPricing, UnitPricing]),
  quality: z.partialRecord(z.enum(INTENTS), z.number().min(0).max(10)),
  tiers: z.array(z.enum(TIERS)).min(1),
  lifecycle: Lifecycle.optional(),
  /**
   * Vision models: the most input tokens one image can cost, at the provider's documented
   * resizing (the image's size is not known before the provider reads it). Admission's worst
   * case counts this per image, so the per-request cost cap holds with images too.
   */
  imageInputTokens: z.int().positive().optional(),
  /**
   * The model samples at fixed settings and refuses temperature and top_p (OpenAI's reasoning
   * models answer 400 "Unsupported value: 'temperature' does not support 0 with this model"):
   * adapters leave both out of its requests (samplingOf in providers/types.ts).
   */
  fixedSampling: z.literal(true).optional(),
  /**
   * The model refuses `stop` though it samples as asked (xAI's reasoning models answer 400
   * "Argument not supported on this model: stop"): a request with stop sequences is not sent to it
   * (fixedSampling models refuse `stop` too; see providers/capabilities.ts).
   */
  refusesStop: z.literal(true).optional(),
  /**
   * The reasoning_effort values the model takes (its provider's docs); absent: it takes none, and a
   * request with one is not sent to it.
   */
  reasoningEfforts: z.array(z.enum(REASONING_EFFORTS)).min(1).optional(),
}).refine((m) => m.capabilities.includes("chat") === (m.pricing.unit === "tokens"), {
  message: "chat models are priced per token, and only they",
}).refine((m) => !m.capabilities.includes("vision") || m.imageInputTokens !== undefined, {
  message: "vision models declare imageInputTokens (the worst case of one image)",
}).refine((m) => m.capabilities.includes("reasoning") || (!m.fixedSampling && !m.reasoningEfforts), {
  message: "only reasoning models have fixedSampling or reasoningEfforts",
}).refine((m) => m.maxInputTokens === undefined || m.maxInputTokens < m.contextWindow, {
  message: "maxInputTokens is below the context window (else leave it out)",
});

export type ModelEntry = z.infer<typeof ModelEntry>;
export type Lifecycle = z.infer<typeof Lifecycle>;
export type ChatModel = ModelEntry & { pricing: z.infer<typeof TokenPricing> };
export type Intent = typeof INTENTS[number];
export type Tier = typeof TIERS[number];
