// The smart router's decision: classify the request (intent, complexity), derive the
// capabilities it needs, keep the models that have them and can serve it, and rank them by the
// catalog's per-intent quality and price according to the preference. In the pipeline the
// database then takes the first ranked model the user's plan allows (tier and cost cap), so
// the hard constraints hold jointly; `plan` lets the evaluation tool apply the same rule here.
// Deterministic: the same input gives the same ranking.

import { CHAT_MODELS, type ChatModel, isShutDown, type ModelEntry, MODELS } from "../catalog/index.ts";
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
  intent: RouterIntent;
  complexity: Complexity;
  /** Capabilities the request needs; "reasoning" is preferred where the plan has such a model. */
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
  if (intent === "image_generation") required.push("image_generation");
  if (image) required.push("vision");
  // A request that brings its own tools can look things up through them: research needs no
  // built-in web search then (no model has both).
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
  // Asking for an image sends the request to image models only (and /chat refuses it): only a
  // confident reading may do that. Real requests for images read at 0.86 and above; text the
  // classifier cannot place ("Soak 0.0283…") at most 0.29. A doubtful one gets its next reading.
  const intent = reading.intent === "image_generation" &&
      reading.intentProbability < IMAGE_GENERATION_MIN_PROBABILITY
    ? reading.runnerUp
    : reading.intent;
  const preference = request.preference ?? "balanced";
  const estimate = estimatePromptTokens(request.messages); // once: a long prompt is long to read
  const promptTokensOf = request.promptTokens ?? (() => estimate);
  const required = requirementsOf(request, intent, complexity, estimate);
  const isAvailable = request.isAvailable ?? availableCheck();
  const qualityIntent: Intent = intent;

  // Hard requirements: capabilities (reasoning is a preference, handled by the order below),
  // what the model is (image models only for image generation), and the context window.
  const pool =
    (intent === "image_generation"
      ? MODELS.filter((m) => has(m, "image_generation"))
      : CHAT_MODELS as readonly ModelEntry[])
      .filter((m) => isAvailable(m))
      .filter((m) => required.every((r) => r === "reasoning" || r === "long_context" || has(m, r)))
      .filter((m) =>
        m.pricing.unit !== "tokens" ||
        promptTokensOf(m) + outputBudget(m as ChatModel, request.maxTokens) <= m.contextWindow
      );

  const bar = QUALITY_BAR[preference][complexity];
  const typical = typicalOutputTokens(intent, complexity);
  const ranked: RankedModel[] = pool.map((model) => {
    const prompt = promptTokensOf(model);
    const budget = model.pricing.unit === "tokens" ? outputBudget(model as ChatModel, request.maxTokens) : 0;
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
  ranked.sort((a, b) =>
    // 1. reasoning models first when the request needs reasoning
    (wantsReasoning ? Number(has(b.model, "reasoning")) - Number(has(a.model, "reasoning")) : 0) ||
    // 2. good enough for the task, cheapest first; then the rest, best first
    Number(b.goodEnough) - Number(a.goodEnough) ||
    (a.goodEnough
      ? compareUnits(a.expectedUnits, b.expectedUnits) || b.quality - a.quality
      : b.quality - a.quality || compareUnits(a.expectedUnits, b.expectedUnits)) ||
    a.model.id.localeCompare(b.model.id)
  );

  const chosen = (request.plan ? ranked.find((r) => planAllows(request.plan!, r)) : ranked[0]) ?? null;
  return {
    intent,
    complexity,
    required,
    preference,
    ranked,
    chosen,
    reason: explain(intent, complexity, preference, chosen),
  };
}

/** A one-line, human reason for a choice. */
export function explain(
  intent: string,
  complexity: string,
  preference: Preference,
  chosen: RankedModel | null,
): string {
  const task = `${intent.replace("_", " ")}, ${complexity} complexity`;
  if (!chosen) return `${task}: no model available meets the request's needs`;
  const why = preference === "best"
    ? `the highest-rated model for ${intent.replace("_", " ")} your plan allows`
    : chosen.goodEnough
    ? `the lowest-cost model rated ${chosen.quality}/10 for it that your plan allows`
    : `the best-rated model your plan allows (none cheaper rates high enough)`;
  return `${task} → ${chosen.model.name}: ${why}`;
}

/**
 * Where an explicitly chosen model falls back to when its provider fails: models that can do
 * everything it can, closest in quality first (then cheaper first). `isServable` may be a
 * request's servableCheck().
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
  order = CHAT_MODELS
    .filter((m) => m.id !== model.id && model.capabilities.every((c) => m.capabilities.includes(c)))
    .sort((a, b) =>
      Math.abs(meanQuality(a) - target) - Math.abs(meanQuality(b) - target) ||
      compareUnits(price(a), price(b)) ||
      a.id.localeCompare(b.id)
    );
  // Only the catalog's own entries are kept (a model built elsewhere, as in tests, is not).
  if (CHAT_MODELS.includes(model)) FALLBACK_ORDER.set(model, order);
  return order;
}
