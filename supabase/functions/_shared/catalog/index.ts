// The model catalog: every provider's models, validated once when the function instance loads.
// An entry without an exact price (or with a malformed one) throws here, so the function does not
// start rather than bill a model at $0.

import { z } from "zod";
import { type ChatModel, ModelEntry } from "./schema.ts";
import { openaiModels } from "./models/openai.ts";
import { anthropicModels } from "./models/anthropic.ts";
import { geminiModels } from "./models/gemini.ts";
import { deepseekModels } from "./models/deepseek.ts";
import { mistralModels } from "./models/mistral.ts";
import { perplexityModels } from "./models/perplexity.ts";
import { cohereModels } from "./models/cohere.ts";
import { xaiModels } from "./models/xai.ts";
import { groqModels } from "./models/groq.ts";
import { dashscopeModels } from "./models/dashscope.ts";
import { localModels } from "./models/local.ts";

/** Validates catalog entries (schema, exact prices, unique ids); throws on the first problem. */
export function loadCatalog(entries: readonly unknown[]): ModelEntry[] {
  const models = z.array(ModelEntry).parse(entries);
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.id)) throw new Error(`catalog: duplicate model id ${m.id}`);
    seen.add(m.id);
  }
  return models;
}

export const MODELS: readonly ModelEntry[] = loadCatalog([
  ...openaiModels,
  ...anthropicModels,
  ...geminiModels,
  ...deepseekModels,
  ...mistralModels,
  ...perplexityModels,
  ...cohereModels,
  ...xaiModels,
  ...groqModels,
  ...dashscopeModels,
  ...localModels,
]);

const byId = new Map(MODELS.map((m) => [m.id, m]));

export function findModel(id: string): ModelEntry | undefined {
  return byId.get(id);
}

export function isChatModel(m: ModelEntry): m is ChatModel {
  return m.pricing.unit === "tokens" && m.capabilities.includes("chat");
}

/** Every chat model in the catalog, shut down at its provider or not (see `isShutDown`). */
export const CHAT_MODELS: readonly ChatModel[] = MODELS.filter(isChatModel);

/**
 * Whether the provider refuses requests for the model on the given day (UTC): its shutdown date
 * has come, or, where the source gave no date, it said the model is retired. Such entries stay in
 * the catalog (the brief names several, and billed usage refers to their prices) but nothing
 * should be routed to them.
 */
export function isShutDown(m: ModelEntry, at?: Date): boolean {
  const l = m.lifecycle;
  if (!l) return false;
  if (l.shutdownOn !== undefined) return l.shutdownOn <= (at ? at.toISOString().slice(0, 10) : today());
  return l.status === "retired";
}

// Today's date (UTC, YYYY-MM-DD), formatted once per day rather than on every check: the router
// checks every model on every request.
let day = { text: "", until: 0 };
function today(): string {
  const now = Date.now();
  if (now >= day.until || now < day.until - 86_400_000) {
    const text = new Date(now).toISOString().slice(0, 10);
    day = { text, until: Date.parse(text) + 86_400_000 };
  }
  return day.text;
}

/**
 * Whether a prompt and an output budget fit the model: together within its context window, and
 * the prompt within its input limit where it has one.
 */
export function fitsContext(m: ChatModel, promptTokens: number, outputTokens: number): boolean {
  return promptTokens + outputTokens <= m.contextWindow &&
    (m.maxInputTokens === undefined || promptTokens <= m.maxInputTokens);
}

/** Identifies the price sheet a usage record was charged with. */
export function priceVersion(m: ModelEntry): string {
  return `${m.id}@${m.pricing.asOf}`;
}

export type { ChatModel, Lifecycle, ModelEntry } from "./schema.ts";
