// The per-request cost cap (DESIGN.md §3) is checked against the worst case: the prompt's
// tokens plus the whole output budget, at the model's prices, before the provider is called.
// What the request is then charged never goes above that worst case (chargeFor).

import type { ChatModel } from "./catalog/index.ts";
import { cost, costUnits, formatUnits, type TokenCounts, toUnits } from "./money.ts";
import { log } from "./observability/log.ts";

/** Output budget when the request sets none; sent to the provider, so the worst case holds. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export function outputBudget(model: ChatModel, requested?: number): number {
  return Math.min(requested ?? DEFAULT_MAX_OUTPUT_TOKENS, model.maxOutputTokens);
}

export function worstCaseCost(model: ChatModel, promptTokens: number, budget: number): string {
  return cost(model.pricing, { inputTokens: promptTokens, outputTokens: budget });
}

/** What an admitted request knows of itself when it is charged. */
export interface Chargeable {
  requestId: string;
  /** The model that answered (a fallback's worst case was checked at admission too). */
  model: ChatModel;
  body: { maxTokens?: number };
  /** The prompt tokens admission counted (exact for OpenAI, an estimate for the others). */
  promptTokens(model: ChatModel): number;
}

/**
 * The cost an answer is charged: its usage at the model's prices, but never more than the worst
 * case the request was admitted under. The plan's per-request cap and an API key's budget were
 * checked against that worst case, so they hold whatever the usage. It can only be exceeded
 * where admission estimated: non-OpenAI prompts (tokens.ts counts 4 characters a token, and a
 * prompt of emoji or punctuation holds more). Such an overrun is ours, not the user's, and logged.
 */
export function chargeFor(req: Chargeable, usage: TokenCounts): string {
  const { model } = req;
  const units = costUnits(model.pricing, usage);
  const worst = toUnits(
    worstCaseCost(model, req.promptTokens(model), outputBudget(model, req.body.maxTokens)),
  );
  if (units <= worst) return formatUnits(units);
  log.warn("usage beyond the admitted worst case: charged the worst case", {
    requestId: req.requestId,
    model: model.id,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    promptTokensAdmitted: req.promptTokens(model),
    costUsd: formatUnits(units),
    chargedUsd: formatUnits(worst),
  });
  return formatUnits(worst);
}
