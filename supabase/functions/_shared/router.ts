// Model choice when the request names none. This first cut ranks the chat models cheapest
// first by list price; the database then takes the first one the user's plan allows (or the
// user's default model when they turned the router off). The intent-aware smart router
// replaces the ranking, not this contract.

import { CHAT_MODELS, type ChatModel, isShutDown, type ModelEntry } from "./catalog/index.ts";
import { isConfigured, isSimulated } from "./providers/registry.ts";
import { toUnits } from "./money.ts";

export interface RoutingDecision {
  ranked: ChatModel[];
  reason: string;
}

/**
 * Models that can answer here and now: their provider is configured, and the provider still
 * serves them (a retired model only answers where its provider is simulated).
 */
export function servable(m: ModelEntry): boolean {
  return isConfigured(m.provider) && (!isShutDown(m) || isSimulated(m.provider));
}

export function route(): RoutingDecision {
  const price = (m: ChatModel) => toUnits(m.pricing.inputPerMTok) + toUnits(m.pricing.outputPerMTok);
  const ranked = CHAT_MODELS.filter(servable).sort((
    a,
    b,
  ) => (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : a.id.localeCompare(b.id)));
  return { ranked, reason: "lowest-priced chat model your plan allows" };
}

/**
 * Where an explicitly chosen model falls back to when its provider fails: models that can do
 * everything it can, closest in quality first (then cheaper first).
 */
export function fallbackModelsFor(model: ChatModel): ChatModel[] {
  const meanQuality = (m: ChatModel) => {
    const scores = Object.values(m.quality) as number[];
    return scores.reduce((a, b) => a + b, 0) / Math.max(scores.length, 1);
  };
  const target = meanQuality(model);
  const price = (m: ChatModel) => toUnits(m.pricing.inputPerMTok) + toUnits(m.pricing.outputPerMTok);
  return CHAT_MODELS
    .filter((m) =>
      m.id !== model.id && servable(m) && model.capabilities.every((c) => m.capabilities.includes(c))
    )
    .sort((a, b) =>
      Math.abs(meanQuality(a) - target) - Math.abs(meanQuality(b) - target) ||
      (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : 0)
    );
}
