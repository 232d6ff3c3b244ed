// Model choice when the request names none. This first cut ranks the chat models cheapest
// first by list price; the database then takes the first one the user's plan allows (or the
// user's default model when they turned the router off). The intent-aware smart router
// replaces the ranking, not this contract.

import { CHAT_MODELS, type ChatModel } from "./catalog/index.ts";
import { toUnits } from "./money.ts";

export interface RoutingDecision {
  ranked: ChatModel[];
  reason: string;
}

export function route(): RoutingDecision {
  const price = (m: ChatModel) => toUnits(m.pricing.inputPerMTok) + toUnits(m.pricing.outputPerMTok);
  const ranked = [...CHAT_MODELS].sort((
    a,
    b,
  ) => (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : a.id.localeCompare(b.id)));
  return { ranked, reason: "lowest-priced chat model your plan allows" };
}
