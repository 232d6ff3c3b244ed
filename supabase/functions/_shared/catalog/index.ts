// The model catalog: every provider's models, validated once when the function instance loads.

import { z } from "zod";
import { type ChatModel, ModelEntry } from "./schema.ts";
import { openaiModels } from "./models/openai.ts";

function load(entries: unknown[]): ModelEntry[] {
  const models = z.array(ModelEntry).parse(entries);
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.id)) throw new Error(`catalog: duplicate model id ${m.id}`);
    seen.add(m.id);
  }
  return models;
}

export const MODELS: readonly ModelEntry[] = load([...openaiModels]);

const byId = new Map(MODELS.map((m) => [m.id, m]));

export function findModel(id: string): ModelEntry | undefined {
  return byId.get(id);
}

export function isChatModel(m: ModelEntry): m is ChatModel {
  return m.pricing.unit === "tokens" && m.capabilities.includes("chat");
}

export const CHAT_MODELS: readonly ChatModel[] = MODELS.filter(isChatModel);

/** Identifies the price sheet a usage record was charged with. */
export function priceVersion(m: ModelEntry): string {
  return `${m.id}@${m.pricing.asOf}`;
}

export type { ChatModel, ModelEntry } from "./schema.ts";
