// What a request asks of a model beyond plain text, and whether a model can give it: tools
// (the catalog's `tools`), images (`vision`), a reasoning effort (the catalog's
// `reasoningEfforts`), stop sequences (refused by models that sample at fixed settings, the
// catalog's `fixedSampling`, and by those that refuse `stop` anyway, its `refusesStop`; stop
// sequences of whitespace only, by providers whose adapter declares `visibleStopsOnly`), a JSON
// mode, a tool_choice and one tool call at most (what the provider's API honours, declared by its
// adapter). A model that cannot is refused with a message naming the capability and the model, or
// skipped by the router, never called to fail or to ignore it.

import type { ChatModel } from "../catalog/index.ts";
import { providerInfo } from "./registry.ts";
import type { ChatMessage, ReasoningEffort, ResponseFormat, ToolChoice, ToolDefinition } from "./types.ts";
import { imagesOf } from "./types.ts";

export interface RequestNeeds {
  /** Tools offered, or tool calls and results in the history. */
  tools: boolean;
  /** Image parts in the messages. */
  images: boolean;
  jsonMode?: "json_object" | "json_schema";
  /** A tool_choice other than "auto". */
  toolChoice?: "none" | "required" | "named";
  /** At most one tool call per answer (parallel_tool_calls false, with tools offered). */
  oneToolCall?: true;
  reasoningEffort?: ReasoningEffort;
  /** Stop sequences (OpenAI's and xAI's reasoning models refuse `stop` with a 400). */
  stop?: true;
  /** A stop sequence of whitespace only, such as "\n" (Anthropic refuses it with a 400). */
  blankStop?: true;
}

export function needsOf(req: {
  messages: readonly ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  reasoningEffort?: ReasoningEffort;
  responseFormat?: ResponseFormat;
  stop?: string[];
}): RequestNeeds {
  const history = req.messages.some((m) =>
    m.role === "tool" || (m.role === "assistant" && m.toolCalls?.length)
  );
  const choice = req.toolChoice;
  const format = req.responseFormat?.type;
  return {
    tools: !!req.tools?.length || history,
    images: req.messages.some((m) => m.role === "user" && imagesOf(m.content).length > 0),
    ...(format === "json_object" || format === "json_schema" ? { jsonMode: format } : {}),
    ...(choice === undefined || choice === "auto" || !req.tools?.length
      ? {}
      : { toolChoice: typeof choice === "object" ? "named" as const : choice }),
    ...(req.parallelToolCalls === false && req.tools?.length ? { oneToolCall: true as const } : {}),
    ...(req.reasoningEffort ? { reasoningEffort: req.reasoningEffort } : {}),
    ...(req.stop?.length ? { stop: true as const } : {}),
    ...(req.stop?.some((s) => !s.trim()) ? { blankStop: true as const } : {}),
  };
}

/** Why the model cannot serve a request with these needs, or null when it can. */
export function unmetNeed(model: ChatModel, needs: RequestNeeds): string | null {
  return unmetNeedOf(model, needs)?.message ?? null;
}

/**
 * unmetNeed() with the request field to name in a refusal: the model's, except where the field
 * itself is what the model refuses (`stop`).
 */
export function unmetNeedOf(
  model: ChatModel,
  needs: RequestNeeds,
): { field: string; message: string } | null {
  const message = unmetModelNeed(model, needs);
  if (message) return { field: "model", message };
  if (needs.stop && (model.fixedSampling || model.refusesStop)) {
    return { field: "stop", message: `Model ${model.id} does not support stop (stop sequences)` };
  }
  if (needs.blankStop && providerInfo(model.provider).adapter.features.visibleStopsOnly) {
    return {
      field: "stop",
      message:
        `Model ${model.id} does not support stop sequences of whitespace only (${model.provider} needs a non-whitespace character in each)`,
    };
  }
  return null;
}

function unmetModelNeed(model: ChatModel, needs: RequestNeeds): string | null {
  const has = (c: string) => (model.capabilities as readonly string[]).includes(c);
  if (needs.tools && !has("tools")) return `Model ${model.id} does not support tools (function calling)`;
  if (needs.images && !has("vision")) return `Model ${model.id} does not support image input (vision)`;
  const features = providerInfo(model.provider).adapter.features;
  if (needs.jsonMode && !features.responseFormats.includes(needs.jsonMode)) {
    const supported = features.responseFormats.length
      ? `; it supports ${features.responseFormats.join(", ")}`
      : ` (${model.provider} has no JSON mode)`;
    return `Model ${model.id} does not support response_format ${needs.jsonMode}${supported}`;
  }
  if (needs.toolChoice && !features.toolChoices.includes(needs.toolChoice)) {
    const what = needs.toolChoice === "named" ? "a named function" : `"${needs.toolChoice}"`;
    return `Model ${model.id} does not support tool_choice ${what} (${model.provider})`;
  }
  if (needs.oneToolCall && !features.parallelToolCalls) {
    return `Model ${model.id} does not support parallel_tool_calls false (${model.provider})`;
  }
  const effort = needs.reasoningEffort;
  if (effort && !(features.reasoningEffort && model.reasoningEfforts?.includes(effort))) {
    const takes = features.reasoningEffort && model.reasoningEfforts
      ? `; it takes ${model.reasoningEfforts.join(", ")}`
      : "";
    return `Model ${model.id} does not support reasoning_effort ${effort}${takes}`;
  }
  return null;
}

/** The capability names a request needs, for the router's `required` list. */
export function requiredCapabilities(needs: RequestNeeds): ("tools" | "vision")[] {
  return [...(needs.tools ? ["tools" as const] : []), ...(needs.images ? ["vision" as const] : [])];
}
