// Cohere v2 Chat (POST {base}/v2/chat, https://docs.cohere.com/reference/chat), the wire format
// of Cohere's Command models. The base URL is the SDK root (https://api.cohere.com).
//
// Streams are SSE with `event: <type>` lines; the JSON's own `type` says the same. In order:
//   message-start                      {id, delta.message.role}
//   content-start / -delta / -end      per content block `index`: type "text" (delta.message.content.text)
//                                      or "thinking" (delta.message.content.thinking, reasoning models)
//   tool-plan-delta                    delta.message.tool_plan (see below: not text, not reasoning)
//   tool-call-start / -delta / -end    per tool call `index`: id and function name at the start,
//                                      argument fragments in the deltas
//   citation-start / -end              delta.message.citations {start, end, text, sources[]}
//   message-end                        delta.finish_reason, delta.usage, delta.error (on ERROR)
//   debug                              ignored
//
// USAGE = billed_units. Cohere reports two sets of numbers: `tokens` (what the model processed,
// including Cohere's own prompt template and special tokens: 507 input tokens for a
// 12-token question) and `billed_units` (what Cohere charges for: 12). Cohere's price per 1M
// tokens applies to billed_units, so Usage.inputTokens/outputTokens are billed_units; billing
// on `tokens` would overcharge ~40x on short prompts. `cached_tokens` counts template tokens
// served from Cohere's cache: they are part of `tokens.input_tokens`, not of the billed input, and
// Cohere has no cached-input price, so cachedInputTokens is 0 (none of the billed input is
// charged at a cache rate). Cohere does not split reasoning out of output, so reasoningTokens is
// left unset (unknown) rather than claimed to be 0; thinking is billed inside
// billed_units.output_tokens either way.
//
// TOOL PLAN. Cohere's `tool_plan` is the model's short statement of which tools it will call
// ("I will use the weather tool to…"). It is neither the answer text nor thinking: the recorded
// fixtures keep it apart (MANIFEST expectedToolPlan, with expectedReasoning null), and
// ProviderEvent has no slot for it, so it is dropped here. Billing is unaffected: its tokens are
// inside billed_units.output_tokens.
//
// Failures inside a stream: message-end with finish_reason ERROR (or TIMEOUT) is a failed
// generation: its usage is still reported first (so what Cohere bills is billed), then a
// ProviderError is thrown. A body that ends before message-end is also an error, never a
// silent success. A non-streamed answer has no place to throw after usage, so parseResponse
// returns it with its raw finish reason (ERROR/TIMEOUT) and usage: the caller decides, and still
// bills what Cohere billed.

import type {
  ChatMessage,
  Completion,
  ProviderAdapter,
  ProviderEvent,
  ProviderRequest,
  ToolCall,
  Usage,
} from "../types.ts";
import { functionCalls, ProviderError, samplingOf } from "../types.ts";
import { toOpenAIMessage } from "../openai/adapter.ts";
import { sseMessages } from "../sse.ts";

/** Cohere's usage block, snake_case as on the wire. */
export interface CohereUsage {
  billed_units?: { input_tokens?: number; output_tokens?: number; search_units?: number } | null;
  tokens?: { input_tokens?: number; output_tokens?: number } | null;
  cached_tokens?: number | null;
}

interface CohereSource {
  type?: string;
  id?: string;
  document?: Record<string, unknown> | null;
  tool_output?: Record<string, unknown> | null;
}

interface CohereCitation {
  start?: number;
  end?: number;
  text?: string;
  sources?: CohereSource[] | null;
}

interface CohereToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string } | null;
}

interface CohereStreamEvent {
  type?: string;
  id?: string;
  index?: number;
  delta?: {
    message?: {
      content?: { type?: string; text?: string; thinking?: string } | null;
      tool_plan?: string;
      tool_calls?: CohereToolCall | null;
      citations?: CohereCitation | CohereCitation[] | null;
    } | null;
    finish_reason?: string | null;
    usage?: CohereUsage | null;
    error?: string | null;
  } | null;
  /** Not a stream event: an error object ({"id"?, "message"}) sent as data. */
  message?: unknown;
}

interface CohereResponse {
  id?: string;
  finish_reason?: string | null;
  message?: {
    role?: string;
    content?: { type?: string; text?: string; thinking?: string }[] | null;
    tool_plan?: string | null;
    tool_calls?: CohereToolCall[] | null;
    citations?: CohereCitation[] | null;
  } | null;
  usage?: CohereUsage | null;
}

/** Cohere's `p` (nucleus sampling) accepts 0.01 to 0.99 only. */
const P_MIN = 0.01;
const P_MAX = 0.99;

/** Normalizes Cohere's usage to what Cohere bills (billed_units); see the header comment. */
export function normalizeUsage(u: CohereUsage): Usage {
  return {
    inputTokens: u.billed_units?.input_tokens ?? 0,
    outputTokens: u.billed_units?.output_tokens ?? 0,
    cachedInputTokens: 0,
  };
}

/** The http(s) URLs a citation's sources carry (document or tool output `url` fields), in order. */
export function citationUrls(citations: CohereCitation[]): string[] {
  const urls: string[] = [];
  for (const c of citations) {
    for (const s of c.sources ?? []) {
      const url = s.document?.url ?? s.tool_output?.url;
      if (typeof url === "string" && /^https?:\/\//i.test(url) && !urls.includes(url)) urls.push(url);
    }
  }
  return urls;
}

function failedGeneration(reason: string, error: string | null | undefined): ProviderError {
  const detail = error ? `: ${error}` : "";
  return reason === "TIMEOUT"
    ? new ProviderError("timeout", `cohere stopped the generation (TIMEOUT)${detail}`)
    : new ProviderError("error", `cohere generation failed (${reason})${detail}`);
}

/**
 * A message in Cohere v2 terms: as Chat Completions writes it (system, user with text and
 * image_url parts, tool results with tool_call_id), except an assistant turn that calls tools,
 * whose text is Cohere's tool plan.
 */
function toCohereMessage(m: ChatMessage): Record<string, unknown> {
  if (m.role !== "assistant" || !m.toolCalls?.length) return toOpenAIMessage(m);
  return {
    role: "assistant",
    ...(m.content ? { tool_plan: m.content } : {}),
    tool_calls: functionCalls(m.toolCalls),
  };
}

/**
 * tools, tool_choice and response_format in Cohere v2 terms. Cohere's tool_choice has only
 * REQUIRED and NONE (auto is its default): a named function is asked for by offering only that
 * tool, with REQUIRED.
 */
function cohereToolFields(req: ProviderRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const choice = req.toolChoice;
  const tools = typeof choice === "object" ? req.tools?.filter((t) => t.name === choice.name) : req.tools;
  if (tools?.length) {
    body.tools = tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters ?? { type: "object", properties: {} },
      },
    }));
    if (choice === "none") body.tool_choice = "NONE";
    else if (choice === "required" || typeof choice === "object") body.tool_choice = "REQUIRED";
  }
  const format = req.responseFormat;
  if (format?.type === "json_object" || format?.type === "json_schema") {
    body.response_format = {
      type: "json_object",
      ...(format.type === "json_schema" && format.schema ? { json_schema: format.schema } : {}),
    };
  }
  return body;
}

/** The root the provider's official SDK uses; <P>_BASE_URL overrides it. */
export const defaultBaseUrl = "https://api.cohere.com";

export const cohereAdapter: ProviderAdapter = {
  features: { responseFormats: ["json_object", "json_schema"], toolChoices: ["none", "required", "named"] },

  buildRequest(req: ProviderRequest, endpoint, stream) {
    const body: Record<string, unknown> = {
      model: req.model.apiModel,
      messages: req.messages.map(toCohereMessage),
      stream,
      max_tokens: req.maxOutputTokens,
      ...cohereToolFields(req),
    };
    const { temperature, topP } = samplingOf(req);
    if (temperature !== undefined) body.temperature = temperature;
    // Other APIs take top_p in [0, 1]; Cohere rejects p outside [0.01, 0.99], so clamp.
    if (topP !== undefined) body.p = Math.min(P_MAX, Math.max(P_MIN, topP));
    if (req.stop?.length) body.stop_sequences = req.stop;
    return {
      url: `${endpoint.baseUrl.replace(/\/+$/, "")}/v2/chat`,
      init: {
        method: "POST",
        headers: {
          "authorization": `Bearer ${endpoint.apiKey}`,
          "content-type": "application/json",
          "accept": stream ? "text/event-stream" : "application/json",
        },
        body: JSON.stringify(body),
      },
    };
  },

  async *parseStream(body): AsyncIterable<ProviderEvent> {
    // Content block kinds by index (content-start), so a delta is routed even if it used the
    // other field name.
    const kinds = new Map<number, string>();
    for await (const message of sseMessages(body)) {
      if (message.data === "[DONE]") break;
      let event: CohereStreamEvent;
      try {
        event = JSON.parse(message.data);
      } catch {
        throw new ProviderError("error", "provider sent malformed JSON in its stream");
      }
      const type = event.type ?? message.event;
      if (!type && typeof event.message === "string") throw new ProviderError("error", event.message);
      const delta = event.delta;
      switch (type) {
        case "content-start": {
          const kind = delta?.message?.content?.type;
          if (kind) kinds.set(event.index ?? 0, kind);
          // A start event may already carry text (normally ""); do not drop it.
          yield* contentEvents(delta?.message?.content, kinds.get(event.index ?? 0));
          break;
        }
        case "content-delta":
          yield* contentEvents(delta?.message?.content, kinds.get(event.index ?? 0));
          break;
        case "tool-call-start": {
          const call = delta?.message?.tool_calls;
          yield {
            type: "tool_call",
            call: {
              index: event.index ?? 0,
              id: call?.id,
              name: call?.function?.name,
              arguments: call?.function?.arguments || undefined,
            },
          };
          break;
        }
        case "tool-call-delta": {
          const args = delta?.message?.tool_calls?.function?.arguments;
          if (args) yield { type: "tool_call", call: { index: event.index ?? 0, arguments: args } };
          break;
        }
        case "citation-start": {
          const c = delta?.message?.citations;
          const urls = citationUrls(c ? (Array.isArray(c) ? c : [c]) : []);
          if (urls.length) yield { type: "citations", urls };
          break;
        }
        case "message-end": {
          const reason = delta?.finish_reason ?? null;
          if (delta?.usage) yield { type: "usage", usage: normalizeUsage(delta.usage) };
          if (reason === "ERROR" || reason === "TIMEOUT" || delta?.error) {
            throw failedGeneration(reason ?? "ERROR", delta?.error);
          }
          if (reason) yield { type: "finish", reason };
          return;
        }
          // message-start, content-end, tool-plan-delta (see header), tool-call-end, citation-end,
          // debug: nothing to report.
      }
    }
    throw new ProviderError("error", "cohere stream ended before message-end");
  },

  parseResponse(json): Completion {
    const body = json as CohereResponse;
    const message = body.message ?? {};
    let text = "";
    let reasoning: string | null = null;
    for (const part of message.content ?? []) {
      if (part.type === "thinking") reasoning = (reasoning ?? "") + (part.thinking ?? part.text ?? "");
      else if (part.type === "text" || part.type === undefined) text += part.text ?? "";
    }
    const toolCalls: ToolCall[] = (message.tool_calls ?? []).map((c) => ({
      id: c.id ?? "",
      name: c.function?.name ?? "",
      arguments: c.function?.arguments ?? "",
    }));
    return {
      text,
      reasoning,
      toolCalls,
      citations: citationUrls(message.citations ?? []),
      finishReason: body.finish_reason ?? null,
      usage: body.usage ? normalizeUsage(body.usage) : null,
    };
  },
};

function* contentEvents(
  content: { text?: string; thinking?: string } | null | undefined,
  kind: string | undefined,
): Iterable<ProviderEvent> {
  if (!content) return;
  if (content.thinking) yield { type: "reasoning", text: content.thinking };
  if (content.text) {
    yield kind === "thinking"
      ? { type: "reasoning", text: content.text }
      : { type: "text", text: content.text };
  }
}
