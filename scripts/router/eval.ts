// The smart router's evaluation tool (issue 4's contract). Reads labeled prompts and prints ONE
// JSON object to stdout, measured by calling the router's own `decide` on every item.
//
//   npm run router:eval -- <file.jsonl> [--split heldout] [--tier free|pro|team|enterprise]
//                          [--preference balanced|cheapest|best]
//
// Input, detected per line:
// - the dev set's format: {id, messages, attachments, intent, complexity, requires};
// - MT-Bench's: {question_id, category, turns}. The request is the FIRST turn only: the second
//   turn is a follow-up to an answer we do not have (e.g. "rewrite your previous response…"), so
//   sending it alone misreads it and sending both turns back to back is not a real conversation;
//   the category describes the question, which the first turn states. Categories map to intents:
//   writing → creative, roleplay → creative (role-play is creative by our definitions),
//   reasoning → reasoning, math → math, coding → code, extraction → analysis (work on supplied
//   text), stem → general and humanities → general (explanations from stable knowledge, not fresh
//   information). The mapping is per category, so it is noisy at the edges: q90 (edit a
//   paragraph) and q95 (act as a translator) are `analysis` by the dev set's rules, q97 (act as a
//   math teacher) is arguably math. MT-Bench has no complexity labels and no `requires`.
//
// Every item is decided as deployed with every provider configured, on one plan:
// - Availability: a model is available when it is not retired (`!isShutDown(m)`) and its provider
//   is not `local`; passed to `decide` as `isAvailable`. No breaker is open.
// - Plan: the tier's models and its per-request cap at worst case (DESIGN.md §3): free $0.01,
//   pro $0.10 (default), team $1.00, enterprise unlimited; passed to `decide` as `plan`, which
//   chooses the first ranked model the plan allows, as the database does.
// - Preference: `balanced` unless --preference says otherwise.
//
// Metrics:
// - accuracy, macroF1, perIntent, confusion: predicted intent vs the label. macroF1 averages F1
//   over the intents present in the labels (as scripts/router/train.ts does); perIntent lists
//   every intent that is labeled or predicted (a predicted-only intent has support 0);
//   confusion is {gold: {predicted: count}}, non-zero cells only.
// - complexityAccuracy: over items with a complexity label; null when the file has none.
// - hardConstraintViolations: decisions breaking a constraint the request itself makes hard,
//   checked independently of the ranking: the chosen model lacks a capability in the decision's
//   `required` ("reasoning" and "web_search" are preferences, so each counts only when a model
//   with it was allowed by the plan and not chosen; "long_context" is checked as the context
//   window below);
//   it is not in the tier; its worst case (prompt estimate + whole output budget, via
//   worst-case.ts) exceeds the cap; the prompt plus the output budget exceeds its context window;
//   it is unavailable; or an image is attached and it lacks vision. Must be 0. Items where no
//   model could be chosen are not violations (they are counted in `noModel`).
// - capabilitySatisfiedRate: share of items whose labeled `requires` are all capabilities of the
//   chosen model ("long_context": context window ≥ 128k tokens; "reasoning": has `reasoning`).
//   No `requires` (MT-Bench) counts as satisfied; no chosen model counts as unsatisfied.
// - costSavingVsPremium: 1 − Σ expected cost of the router's choices / Σ expected cost of the
//   most expensive model that satisfies the same constraints (the decision's ranked models the
//   plan allows — same required capabilities, context window, availability, tier and cap —
//   restricted to reasoning models when the decision required reasoning and the plan allows
//   one). Expected cost = the prompt estimate + TYPICAL_OUTPUT_TOKENS[predicted complexity]
//   (low 150, medium 600, high 1500; echoed as `typicalOutputTokens`) at the model's prices,
//   i.e. `RankedModel.expectedCost` (image generation is not served yet: a request read as one
//   is ranked among chat models for its next reading, as /chat answers it); summed exactly (money.ts) over items where a model was chosen.
//   The exact sums are in `expectedCost`.
// - decisionMicros: `decide()` wall time in microseconds (performance.now) over items whose
//   prompt (all messages' characters) is ≤ 4,000: one warm-up pass over them, then each decided
//   20 times; p50 and p99 (nearest rank) over all those timings.
// Ratios are rounded to 3 decimals, times to 0.1 µs. Also printed: file, split, tier, preference,
// noModel (items no model could serve), expectedCost, typicalOutputTokens, and `violations`
// (each violating item's id, model and reasons; empty when the count is 0). Use
// `npm run --silent router:eval …` to keep npm's own banner off stdout.

import { parseArgs } from "node:util";
import {
  type ChatModel,
  fitsContext,
  isShutDown,
  type ModelEntry,
} from "../../supabase/functions/_shared/catalog/index.ts";
import { formatUnits, toUnits } from "../../supabase/functions/_shared/money.ts";
import { estimatePromptTokens } from "../../supabase/functions/_shared/tokens.ts";
import { outputBudget, worstCaseCost } from "../../supabase/functions/_shared/worst-case.ts";
import {
  decide,
  planAllows,
  type RankedModel,
  type RouteDecision,
  type RouteRequest,
} from "../../supabase/functions/_shared/router/index.ts";
import { TYPICAL_OUTPUT_TOKENS } from "../../supabase/functions/_shared/router/decide.ts";
import { INTENT_LABELS } from "../../supabase/functions/_shared/router/model.ts";
import { isHeldOut, type LabeledItem, readJsonl } from "./data.ts";

export const PLANS = { free: "0.01", pro: "0.10", team: "1.00", enterprise: null } as const;
export type Tier = keyof typeof PLANS;
type Plan = NonNullable<RouteRequest["plan"]>;

export const MT_BENCH_INTENTS: Record<string, string> = {
  writing: "creative",
  roleplay: "creative",
  reasoning: "reasoning",
  math: "math",
  coding: "code",
  extraction: "analysis",
  stem: "general",
  humanities: "general",
};

/** Deployed with every provider configured: not retired, not the local server. */
export const isAvailable = (m: ModelEntry) => !isShutDown(m) && m.provider !== "local";

const has = (m: ModelEntry, capability: string) => (m.capabilities as readonly string[]).includes(capability);
const hasImage = (item: LabeledItem) =>
  (item.attachments ?? []).some((a) => a.type === "image" || a.mimeType?.startsWith("image/"));
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A dev-set line as it is; an MT-Bench line as its first turn with the category's intent. */
export function toItem(raw: Record<string, unknown>, index: number): LabeledItem {
  let item = raw as unknown as LabeledItem;
  if ("question_id" in raw && Array.isArray(raw.turns)) {
    item = {
      id: `mt-${raw.question_id}`,
      messages: [{ role: "user", content: String(raw.turns[0]) }],
      attachments: [],
      intent: MT_BENCH_INTENTS[String(raw.category)],
      complexity: null,
      requires: [],
    };
  }
  if (!(INTENT_LABELS as readonly string[]).includes(item.intent) || !Array.isArray(item.messages)) {
    throw new Error(`item ${index + 1}: not a labeled item (intent ${JSON.stringify(item.intent)})`);
  }
  return item;
}

/** Why a decision breaks a hard constraint of its request (empty: it does not). */
export function violations(item: LabeledItem, d: RouteDecision, plan: Plan): string[] {
  if (!d.chosen) return [];
  const m = d.chosen.model;
  const out: string[] = [];
  for (const r of d.required) {
    if (r === "long_context") continue; // the context window check below
    if (r === "reasoning" || r === "web_search") { // preferences: broken only when one was allowed
      const allowed = d.ranked.some((x) => has(x.model, r) && planAllows(plan, x));
      if (allowed && !has(m, r)) {
        out.push(`${r === "reasoning" ? "reasoning" : "web-search"} model allowed but not chosen`);
      }
    } else if (!has(m, r)) out.push(`lacks ${r}`);
  }
  if (hasImage(item) && !has(m, "vision")) out.push("image attached, lacks vision");
  if (!(m.tiers as readonly string[]).includes(plan.tier)) out.push("not in the tier");
  const prompt = estimatePromptTokens(item.messages);
  const budget = m.pricing.unit === "tokens" ? outputBudget(m as ChatModel) : 0;
  const worst = m.pricing.unit === "tokens"
    ? worstCaseCost(m as ChatModel, prompt, budget)
    : m.pricing.perUnit;
  if (plan.maxCostPerRequest !== null && toUnits(worst) > toUnits(plan.maxCostPerRequest)) {
    out.push(`worst case ${worst} over the cap`);
  }
  if (m.pricing.unit === "tokens" && !fitsContext(m as ChatModel, prompt, budget)) {
    out.push("context window too small");
  }
  if (!isAvailable(m)) out.push("unavailable");
  return out;
}

/** The labeled requirements, as capabilities of the chosen model. */
export function satisfies(m: ModelEntry, requirement: string): boolean {
  if (requirement === "long_context") return m.contextWindow >= 128_000;
  return has(m, requirement);
}

/** The most expensive model (expected cost) meeting the same constraints as the router's choice. */
export function premiumFor(d: RouteDecision, plan: Plan): RankedModel | undefined {
  const allowed = d.ranked.filter((r) => planAllows(plan, r));
  const reasoning = d.required.includes("reasoning") && allowed.some((r) => has(r.model, "reasoning"));
  return allowed
    .filter((r) => !reasoning || has(r.model, "reasoning"))
    .reduce<RankedModel | undefined>(
      (top, r) => (!top || toUnits(r.expectedCost) > toUnits(top.expectedCost) ? r : top),
      undefined,
    );
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] : 0;
}

export interface EvalOptions {
  tier: Tier;
  preference: NonNullable<RouteRequest["preference"]>;
}

export function evaluate(items: LabeledItem[], { tier, preference }: EvalOptions) {
  const plan: Plan = { tier, maxCostPerRequest: PLANS[tier] };
  const requestOf = (item: LabeledItem): RouteRequest => ({
    messages: item.messages,
    attachments: item.attachments,
    preference,
    plan,
    isAvailable,
  });

  const confusion: Record<string, Record<string, number>> = {};
  const tally = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);
  const gold: Record<string, number> = {},
    predicted: Record<string, number> = {},
    hits: Record<string, number> = {};
  let complexityLabeled = 0, complexityCorrect = 0, satisfied = 0, noModel = 0;
  let routerCost = 0n, premiumCost = 0n;
  const violating: { id: string; model: string; why: string[] }[] = [];
  for (const item of items) {
    const d = decide(requestOf(item));
    tally(confusion[item.intent] ??= {}, d.intent);
    tally(gold, item.intent);
    tally(predicted, d.intent);
    if (d.intent === item.intent) tally(hits, d.intent);
    if (item.complexity) {
      complexityLabeled++;
      if (d.complexity === item.complexity) complexityCorrect++;
    }
    const why = violations(item, d, plan);
    if (why.length) violating.push({ id: item.id, model: d.chosen!.model.id, why });
    if (!d.chosen) {
      noModel++;
      continue;
    }
    if ((item.requires ?? []).every((r) => satisfies(d.chosen!.model, r))) satisfied++;
    routerCost += toUnits(d.chosen.expectedCost);
    premiumCost += toUnits(premiumFor(d, plan)!.expectedCost);
  }

  const perIntent: Record<string, { precision: number; recall: number; f1: number; support: number }> = {};
  const labeledF1: number[] = []; // unrounded, for the macro average
  for (const intent of INTENT_LABELS) {
    const support = gold[intent] ?? 0, tp = hits[intent] ?? 0;
    if (!support && !predicted[intent]) continue;
    const precision = predicted[intent] ? tp / predicted[intent] : 0, recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perIntent[intent] = { precision: round(precision), recall: round(recall), f1: round(f1), support };
    if (support) labeledF1.push(f1);
  }
  const sortedConfusion = Object.fromEntries(
    INTENT_LABELS.filter((g) => confusion[g]).map((g) => [
      g,
      Object.fromEntries(INTENT_LABELS.filter((p) => confusion[g][p]).map((p) => [p, confusion[g][p]])),
    ]),
  );

  // Decision time, on prompts up to 4,000 characters.
  const timed = items
    .filter((item) => item.messages.reduce((n, m) => n + m.content.length, 0) <= 4000)
    .map(requestOf);
  for (const request of timed) decide(request);
  const micros: number[] = [];
  for (const request of timed) {
    for (let k = 0; k < 20; k++) {
      const started = performance.now();
      decide(request);
      micros.push((performance.now() - started) * 1000);
    }
  }
  micros.sort((a, b) => a - b);

  return {
    n: items.length,
    accuracy: round(items.length ? Object.values(hits).reduce((a, b) => a + b, 0) / items.length : 0),
    macroF1: round(labeledF1.reduce((sum, f1) => sum + f1, 0) / (labeledF1.length || 1)),
    perIntent,
    confusion: sortedConfusion,
    complexityAccuracy: complexityLabeled ? round(complexityCorrect / complexityLabeled) : null,
    hardConstraintViolations: violating.length,
    capabilitySatisfiedRate: round(items.length ? satisfied / items.length : 0),
    costSavingVsPremium: premiumCost > 0n
      ? round(1 - Number((routerCost * 10n ** 9n) / premiumCost) / 1e9)
      : null,
    decisionMicros: { p50: round(percentile(micros, 50), 1), p99: round(percentile(micros, 99), 1) },
    tier,
    preference,
    noModel,
    expectedCost: { router: formatUnits(routerCost), premium: formatUnits(premiumCost) },
    typicalOutputTokens: TYPICAL_OUTPUT_TOKENS,
    violations: violating,
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      split: { type: "string" },
      tier: { type: "string", default: "pro" },
      preference: { type: "string", default: "balanced" },
    },
    allowPositionals: true,
  });
  const usage =
    "usage: router:eval <file.jsonl> [--split heldout] [--tier free|pro|team|enterprise] [--preference balanced|cheapest|best]";
  if (
    positionals.length !== 1 || (values.split !== undefined && values.split !== "heldout") ||
    !(values.tier in PLANS) || !["balanced", "cheapest", "best"].includes(values.preference)
  ) {
    console.error(usage);
    Deno.exit(2);
  }
  let items = readJsonl<Record<string, unknown>>(positionals[0]).map(toItem);
  if (values.split === "heldout") items = items.filter((item) => isHeldOut(item.id));
  const result = evaluate(items, {
    tier: values.tier as Tier,
    preference: values.preference as EvalOptions["preference"],
  });
  console.log(JSON.stringify({ file: positionals[0], split: values.split ?? "all", ...result }));
}
