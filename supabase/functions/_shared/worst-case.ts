// The per-request cost cap (DESIGN.md §3) is checked against the worst case: the prompt's
// tokens plus the whole output budget, at the model's prices, before the provider is called.

import type { ChatModel } from "./catalog/index.ts";
import { cost } from "./money.ts";

/** Output budget when the request sets none; sent to the provider, so the worst case holds. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export function outputBudget(model: ChatModel, requested?: number): number {
  return Math.min(requested ?? DEFAULT_MAX_OUTPUT_TOKENS, model.maxOutputTokens);
}

export function worstCaseCost(model: ChatModel, promptTokens: number, budget: number): string {
  return cost(model.pricing, { inputTokens: promptTokens, outputTokens: budget });
}
