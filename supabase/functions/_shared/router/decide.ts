// The smart router's decision: classify the request (intent, complexity), derive the
// capabilities it needs, keep the models that have them and can serve it, and rank them by the
// catalog's per-intent quality and price according to the preference. In the pipeline the
// database then takes the first ranked model the user's plan allows (tier and cost cap), so
// the hard constraints hold jointly; `plan` lets the evaluation tool apply the same rule here.
// Deterministic: the same input gives the same ranking.

import { CHAT_MODELS, type ChatModel, fitsContext, isShutDown, type ModelEntry } from "../catalog/index.ts";
import type { Intent } from "../catalog/schema.ts";
import { formatUnits, perTokenUnits, toUnits } from "../money.ts";
import { estimatePromptTokens } from "../tokens.ts";
import { outputBudget } from "../worst-case.ts";
import { isConfigured } from "../providers/registry.ts";
import { env } from "../env.ts";
import { openProviders } from "../resilience/breaker.ts";
import { extractFeatures, type RouterInput } from "./features.ts";
import { classify, type Complexity, type RouterIntent } from "./model.ts";

export type Preference = "balanced" | "cheapest" | "best";
export type Requirement =
  | "vision"
  | "image_generation"
  | "web_search"
  | "reasoning"
  | "long_context"
  | "tools";

export interface RouteRequest extends RouterInput {
  preference?: Preference;
  /** The request's output budget (maxTokens), if it set one. */
  maxTokens?: number;
  /** Capabilities the request itself needs whatever its intent (tools offered, images sent). */
  needsCapabilities?: Requirement[];
  /** Apply a plan here as the database would (the evaluation tool); null cap = unlimited. */
  plan?: { tier: string; maxCostPerRequest: string | null };
  /** Which models may be used at all (default: configured, not retired, circuit not open). */
  isAvailable?: (m: ModelEntry) => boolean;
  /** Prompt tokens for a model (default: the documented estimate). */
  promptTokens?: (m: ModelEntry) => number;
  /**
   * The prompt's size without images (what the long-context requirement reads), when the caller
   * has counted it; otherwise the documented estimate, computed only when it is needed.
   */
  promptEstimate?: number;
}

/** A candidate with its costs as exact units (compared as bigints; formatted only when read). */
export class RankedModel {
  constructor(
    readonly model: ModelEntry,
    /** Prompt + whole output budget at the model's prices (what the cost cap is checked on). */
    readonly worstCaseUnits: bigint,
    /** Prompt + typical output for this intent and complexity (what preferences compare). */
    readonly expectedUnits: bigint,
    readonly quality: number,
    /** Meets the quality the preference asks for at this complexity. */
    readonly goodEnough: boolean,
  ) {}

  get worstCaseCost(): string {
    return formatUnits(this.worstCaseUnits);
  }

  get expectedCost(): string {
    return formatUnits(this.expectedUnits);
  }
}

export interface RouteDecision {
  /** The classifier's reading of the request. */
  intent: RouterIntent;
  /**
   * The intent the models were ranked for: the reading, except image generation, which nothing
   * serves yet: such a request is answered in text, ranked for the best other intent.
   */
  answeredAs: RouterIntent;
  complexity: Complexity;
  /**
   * Capabilities the request needs. "reasoning" and "web_search" are preferences: models with
   * them come first, and without one the best model that fits is taken (the reason says so).
   */
  required: Requirement[];
  preference: Preference;
  /** Every usable model meeting the hard requirements, best first. */
  ranked: RankedModel[];
  /** The choice: the first ranked model the plan allows (the first ranked without a plan). */
  chosen: RankedModel | null;
  reason: string;
}

/**
 * Typical answer length, for comparing expected costs (documented in the README): by
 * complexity, scaled per intent (stories and code run long, extractions and captions short).
 */
export const TYPICAL_OUTPUT_TOKENS: Record<Complexity, number> = { low: 150, medium: 600, high: 1500 };
export const INTENT_OUTPUT_FACTOR: Record<RouterIntent, number> = {
  general: 0.8,
  code: 1.3,
  math: 1.0,
  reasoning: 1.2,
  creative: 1.5,
  analysis: 0.8,
  research: 1.0,
  vision: 0.7,
  image_generation: 0,
};

export function typicalOutputTokens(intent: RouterIntent, complexity: Complexity): number {
  return Math.round(TYPICAL_OUTPUT_TOKENS[complexity] * INTENT_OUTPUT_FACTOR[intent]);
}
/** Quality (0–10, the catalog's per-intent score) a model needs to count as good enough. */
const QUALITY_BAR: Record<Preference, Record<Complexity, number>> = {
  balanced: { low: 6, medium: 7, high: 8 },
  cheapest: { low: 4, medium: 5, high: 6 },
  best: { low: 11, medium: 11, high: 11 }, // nothing is "good enough": pure quality order
};
/** How sure the classifier must be before a request counts as asking for an image. */
const IMAGE_GENERATION_MIN_PROBABILITY = 0.5;
/** Capabilities the router prefers rather than requires (see RouteDecision.required). */
const PREFERRED: ReadonlySet<Requirement> = new Set(["reasoning", "web_search"]);
/** Above this many prompt tokens the request needs a long-context model. */
const LONG_CONTEXT_TOKENS = 32_000;

/** Models that can answer here and now: provider configured, not retired (unless simulated). */
export function servable(m: ModelEntry): boolean {
  return servableCheck()(m);
}

/**
 * servable() for many models at once (a request checks the whole catalog): the environment is
 * read once per provider, not once per model. Meant for one request, not to be kept.
 */
export function servableCheck(): (m: ModelEntry) => boolean {
  const configured = new Map<string, boolean>();
  let simulated: Set<string> | undefined;
  return (m) => {
    let ok = configured.get(m.provider);
    if (ok === undefined) configured.set(m.provider, ok = isConfigured(m.provider));
    return ok && (!isShutDown(m) || (simulated ??= env.simulatedProviders).has(m.provider));
  };
}

/** Models that can answer now: servable, and their provider's circuit is not open. */
export function defaultAvailable(m: ModelEntry): boolean {
  return availableCheck()(m);
}

/** defaultAvailable() for many models at once, as servableCheck() (whose check it may reuse). */
export function availableCheck(isServable = servableCheck()): (m: ModelEntry) => boolean {
  const open = openProviders();
  return (m) => isServable(m) && !open.has(m.provider);
}

const has = (m: ModelEntry, capability: string) => (m.capabilities as readonly string[]).includes(capability);

function requirementsOf(
  input: RouterInput & { needsCapabilities?: Requirement[] },
  intent: RouterIntent,
  complexity: Complexity,
  promptTokens: number,
): Requirement[] {
  const required: Requirement[] = [];
  const image = (input.attachments ?? []).some((a) => a.type === "image" || a.mimeType?.startsWith("image/"));
  if (image) required.push("vision");
  // Research prefers a model with built-in web search. A request that brings its own tools can
  // look things up through them: it needs none then (no model has both).
  if (intent === "research" && !input.needsCapabilities?.includes("tools")) required.push("web_search");
  if ((intent === "math" || intent === "reasoning") && complexity === "high") required.push("reasoning");
  if (promptTokens > LONG_CONTEXT_TOKENS) required.push("long_context");
  for (const r of input.needsCapabilities ?? []) if (!required.includes(r)) required.push(r);
  return required;
}

/** Per-token prices as units, parsed once per model (decisions compare dozens of models). */
const PRICES = new Map<string, { input: bigint; output: bigint; flat: bigint }>();

function costOf(m: ModelEntry, inputTokens: number, outputTokens: number): bigint {
  let p = PRICES.get(m.id);
  if (!p) {
    p = m.pricing.unit === "tokens"
      ? {
        input: perTokenUnits(m.pricing.inputPerMTok),
        output: perTokenUnits(m.pricing.outputPerMTok),
        flat: m.pricing.requestFee ? toUnits(m.pricing.requestFee) : 0n,
      }
      : { input: 0n, output: 0n, flat: toUnits(m.pricing.perUnit) }; // one image (or minute…) per request
    PRICES.set(m.id, p);
  }
  return BigInt(inputTokens) * p.input + BigInt(outputTokens) * p.output + p.flat;
}

const compareUnits = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** Whether a plan allows a model: the database's rule (tier listed, worst case within the cap). */
export function planAllows(plan: NonNullable<RouteRequest["plan"]>, r: RankedModel): boolean {
  return (r.model.tiers as readonly string[]).includes(plan.tier) &&
    (plan.maxCostPerRequest === null || r.worstCaseUnits <= toUnits(plan.maxCostPerRequest));
}

export function decide(request: RouteRequest): RouteDecision {
  const hasImage = (request.attachments ?? []).some((a) =>
    a.type === "image" || a.mimeType?.startsWith("image/")
  );
  const reading = classify(extractFeatures(request), hasImage);
  const { complexity } = reading;
  // Only a confident reading counts as asking for an image. Real requests for images read at
  // 0.86 and above; text the classifier cannot place ("Soak 0.0283…") at most 0.29. A doubtful
  // one gets its next reading.
  const intent = reading.intent === "image_generation" &&
      reading.intentProbability < IMAGE_GENERATION_MIN_PROBABILITY
    ? reading.runnerUp
    : reading.intent;
  // Nothing serves image generation yet, and many requests that read as one want text ("Draw
  // conclusions from…", "Draw an ASCII art cat", "Create an SVG icon"): they are answered by a
  // chat model ranked for the next reading (never image generation: see classify).
  const answeredAs = intent === "image_generation" ? reading.runnerUp : intent;
  const preference = request.preference ?? "balanced";
  let estimate = request.promptEstimate;
  // at most once, and only when needed: a long prompt is long to read
  const estimated = () => estimate ??= estimatePromptTokens(request.messages);
  const promptTokensOf = request.promptTokens ?? estimated;
  const required = requirementsOf(request, answeredAs, complexity, estimated());
  const isAvailable = request.isAvailable ?? availableCheck();
  const qualityIntent: Intent = answeredAs;

  // Hard requirements: capabilities (reasoning and web search are preferences, handled by the
  // order below; long context is the context window check) and the context window.
  const pool = (CHAT_MODELS as readonly ModelEntry[])
    .filter((m) => isAvailable(m))
    .filter((m) => required.every((r) => PREFERRED.has(r) || r === "long_context" || has(m, r)))
    .filter((m) =>
      fitsContext(m as ChatModel, promptTokensOf(m), outputBudget(m as ChatModel, request.maxTokens))
    );

  const bar = QUALITY_BAR[preference][complexity];
  const typical = typicalOutputTokens(answeredAs, complexity);
  const ranked: RankedModel[] = pool.map((model) => {
    const prompt = promptTokensOf(model);
    const budget = outputBudget(model as ChatModel, request.maxTokens);
    const quality = model.quality[qualityIntent] ?? model.quality.general ?? 5;
    return new RankedModel(
      model,
      costOf(model, prompt, budget),
      costOf(model, prompt, Math.min(budget, typical)),
      quality,
      quality >= bar,
    );
  });
  const wantsReasoning = required.includes("reasoning");
  const wantsSearch = required.includes("web_search");
  ranked.sort((a, b) =>
    // 1. reasoning models first when the request needs reasoning, search models for research
    (wantsReasoning ? Number(has(b.model, "reasoning")) - Number(has(a.model, "reasoning")) : 0) ||
    (wantsSearch ? Number(has(b.model, "web_search")) - Number(has(a.model, "web_search")) : 0) ||
    // 2. good enough for the task, cheapest first; then the rest, best first
    Number(b.goodEnough) - Number(a.goodEnough) ||
    (a.goodEnough
      ? compareUnits(a.expectedUnits, b.expectedUnits) || b.quality - a.quality
      : b.quality - a.quality || compareUnits(a.expectedUnits, b.expectedUnits)) ||
    a.model.id.localeCompare(b.model.id)
  );

  const chosen = (request.plan ? ranked.find((r) => planAllows(request.plan!, r)) : ranked[0]) ?? null;
  const decision = { intent, answeredAs, complexity, required, preference, ranked, chosen, reason: "" };
  decision.reason = explain(decision, chosen);
  return decision;
}

const words = (intent: string) => intent.replace("_", " ");

/** A one-line, human reason for a choice (`chosen`: the model the plan allowed, if any). */
export function explain(
  decision: Pick<RouteDecision, "intent" | "answeredAs" | "complexity" | "preference" | "required">,
  chosen: RankedModel | null,
): string {
  const { intent, answeredAs, complexity, preference, required } = decision;
  const task = `${words(intent)}, ${complexity} complexity`;
  if (!chosen) return `${task}: no model available meets the request's needs`;
  const why = preference === "best"
    ? `the highest-rated model for ${words(answeredAs)} your plan allows`
    : chosen.goodEnough
    ? `the lowest-cost model rated ${chosen.quality}/10 for it that your plan allows`
    : `the best-rated model your plan allows (none cheaper rates high enough)`;
  const notes = [];
  if (answeredAs !== intent) {
    notes.push(`image generation is not served yet, so it is answered in text as ${words(answeredAs)}`);
  }
  if (required.includes("web_search") && !has(chosen.model, "web_search")) {
    notes.push(
      "no web-search model is available within your plan for it, so it is answered without live search",
    );
  }
  return `${task} → ${chosen.model.name}: ${why}${notes.map((n) => `; ${n}`).join("")}`;
}

/**
 * Where an explicitly chosen model falls back to when its provider fails: models that can do
 * everything it can; first those no pricier than it (output price and per-request fee at most
 * its own: a request for a cheap model is not answered at many times its price while a cheap
 * one can), then the rest; each group closest in quality first (then cheaper first).
 * `isServable` may be a request's servableCheck().
 */
export function fallbackModelsFor(
  model: ChatModel,
  isServable: (m: ModelEntry) => boolean = servableCheck(),
): ChatModel[] {
  return fallbackOrder(model).filter(isServable);
}

// The catalog is fixed, so each model's fallback order is too: computed once per model, then
// filtered by what is servable at the time. (Filtering before or after sorting gives the same
// order: ties end with the id, so the order is total.)
const FALLBACK_ORDER = new Map<ChatModel, readonly ChatModel[]>();

function fallbackOrder(model: ChatModel): readonly ChatModel[] {
  let order = FALLBACK_ORDER.get(model);
  if (order) return order;
  const meanQuality = (m: ChatModel) => {
    const scores = Object.values(m.quality) as number[];
    return scores.reduce((a, b) => a + b, 0) / Math.max(scores.length, 1);
  };
  const target = meanQuality(model);
  const price = (m: ChatModel) => toUnits(m.pricing.inputPerMTok) + toUnits(m.pricing.outputPerMTok);
  const fee = (m: ChatModel) => m.pricing.requestFee ? toUnits(m.pricing.requestFee) : 0n;
  const pricier = (m: ChatModel) =>
    toUnits(m.pricing.outputPerMTok) > toUnits(model.pricing.outputPerMTok) || fee(m) > fee(model);
  order = CHAT_MODELS
    .filter((m) => m.id !== model.id && model.capabilities.every((c) => m.capabilities.includes(c)))
    .sort((a, b) =>
      Number(pricier(a)) - Number(pricier(b)) ||
      Math.abs(meanQuality(a) - target) - Math.abs(meanQuality(b) - target) ||
      compareUnits(price(a), price(b)) ||
      a.id.localeCompare(b.id)
    );
  // Only the catalog's own entries are kept (a model built elsewhere, as in tests, is not).
  if (CHAT_MODELS.includes(model)) FALLBACK_ORDER.set(model, order);
  return order;
}
