// The provider-neutral shapes every adapter maps to and from.

import type { ChatModel } from "../catalog/index.ts";

/** A piece of a user message: text, or an image by https URL or data: URL (base64). */
export type ContentPart =
  | { type: "text"; text: string }
  | { type: "image"; url: string; detail?: "auto" | "low" | "high" };

/** A function the model called (arguments: the JSON text the model wrote). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * One turn of a conversation. Users may send parts (text and images); an assistant turn may
 * call tools (its text may then be empty); a `tool` turn carries one call's result.
 */
export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | ContentPart[] }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
  | { role: "tool"; content: string; toolCallId: string };

/**
 * A function the model may call; `parameters` is a JSON Schema for its arguments object. `strict`
 * (OpenAI's Structured Outputs for function calling): the arguments must match the schema exactly;
 * sent to the providers that honour it (OpenAI, Mistral: their flavors' strictTools), left out for
 * the others.
 */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

/** Whether and which tool the model must call. */
export type ToolChoice = "auto" | "none" | "required" | { name: string };

/** The answer's shape: free text, any JSON object, or JSON matching a schema. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
    type: "json_schema";
    name: string;
    description?: string;
    schema?: Record<string, unknown>;
    strict?: boolean;
  };

/** How hard a reasoning model thinks (OpenAI's reasoning_effort values). */
export const REASONING_EFFORTS = ["minimal", "low", "medium", "high"] as const;
export type ReasoningEffort = typeof REASONING_EFFORTS[number];

export interface ProviderRequest {
  model: ChatModel;
  messages: ChatMessage[];
  maxOutputTokens: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** false: at most one tool call per answer (only adapters with features.parallelToolCalls get it). */
  parallelToolCalls?: boolean;
  /** Only for models whose catalog entry lists the value in reasoningEfforts. */
  reasoningEffort?: ReasoningEffort;
  responseFormat?: ResponseFormat;
}

/**
 * temperature and top_p as the model takes them: none at all for models that sample at fixed
 * settings and refuse both (the catalog's fixedSampling: OpenAI's reasoning models answer 400).
 */
export function samplingOf(req: ProviderRequest): { temperature?: number; topP?: number } {
  if (req.model.fixedSampling) return {};
  return { temperature: req.temperature, topP: req.topP };
}

/** The text of a message's content (text parts joined; images left out). */
export function textOf(content: string | ContentPart[]): string {
  if (typeof content === "string") return content;
  return content.map((p) => (p.type === "text" ? p.text : "")).join("");
}

/** The images of a message's content. */
export function imagesOf(content: string | ContentPart[]): Extract<ContentPart, { type: "image" }>[] {
  return typeof content === "string"
    ? []
    : content.filter((p): p is Extract<ContentPart, { type: "image" }> => p.type === "image");
}

/**
 * A tool call's arguments as the JSON object APIs that take structured arguments want (Anthropic's
 * input, Gemini's args). Models write valid JSON; anything else becomes {} rather than failing
 * the whole request over one malformed call in the history.
 */
export function argumentsObject(args: string): Record<string, unknown> {
  try {
    const v = JSON.parse(args || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** Tool calls as the OpenAI wire format (and Cohere v2, and our OpenAI answers) write them. */
export function functionCalls(calls: ToolCall[]) {
  return calls.map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: c.arguments },
  }));
}

/** A data: URL's media type and base64 payload, or null for any other URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([\w.+-]+\/[\w.+-]+)(?:;[\w-]+=[^;,]*)*;base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1].toLowerCase(), data: m[2] } : null;
}

/**
 * Usage as billed, normalized across providers: inputTokens counts every input token (cache
 * reads and writes included, whatever the provider's own field means); outputTokens every
 * billed output token (reasoning/thinking included where the provider bills it as output).
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens, read from the prompt cache. */
  cachedInputTokens?: number;
  /** Of inputTokens, written to the prompt cache. */
  cacheWriteInputTokens?: number;
  /** Of outputTokens, spent on reasoning. */
  reasoningTokens?: number;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

/** What a provider stream is normalized to, event by event. */
export type ProviderEvent =
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string }
  /** The model declined (OpenAI Structured Outputs: `refusal` instead of content). */
  | { type: "refusal"; text: string }
  | { type: "tool_call"; call: ToolCallDelta }
  | { type: "citations"; urls: string[] }
  | { type: "finish"; reason: string }
  | { type: "usage"; usage: Usage };

export interface Completion {
  text: string;
  reasoning: string | null;
  toolCalls: ToolCall[];
  /** Sources the answer cites (Perplexity, Cohere), in order, without duplicates. */
  citations: string[];
  finishReason: string | null;
  usage: Usage | null;
  /** The model declined, in these words (OpenAI Structured Outputs), instead of answering. */
  refusal?: string | null;
}

export interface ProviderEndpoint {
  baseUrl: string;
  apiKey: string;
}

/**
 * What a provider's API honours beyond text and tools (the catalog's capabilities say what each
 * model can do: tools, vision): a request asking for more is refused before the provider is called.
 */
export interface AdapterFeatures {
  /** response_format types it enforces (none: it has no JSON mode). */
  responseFormats: readonly ("json_object" | "json_schema")[];
  /** tool_choice values it honours besides "auto" ("named": one function by name). */
  toolChoices: readonly ("none" | "required" | "named")[];
  /** It can be told to make at most one tool call per answer (parallel_tool_calls false). */
  parallelToolCalls?: boolean;
  /**
   * It carries reasoning_effort (which values a model takes is the catalog's reasoningEfforts;
   * a catalog test holds every model that lists some to an adapter that carries them).
   */
  reasoningEffort?: boolean;
  /**
   * Each stop sequence must hold a non-whitespace character (Anthropic: 400 "stop_sequences: each
   * stop sequence must contain non-whitespace"): a request with a blank one is not sent to it.
   */
  visibleStopsOnly?: boolean;
}

/** A wire format, declaratively: how to build the HTTP request, how to read the answer. */
export interface ProviderAdapter {
  features: AdapterFeatures;
  buildRequest(
    req: ProviderRequest,
    endpoint: ProviderEndpoint,
    stream: boolean,
  ): { url: string; init: RequestInit };
  parseStream(body: ReadableStream<Uint8Array>): AsyncIterable<ProviderEvent>;
  parseResponse(json: unknown): Completion;
}

/** A failed provider call, classified for the API's error codes and for retries. */
export class ProviderError extends Error {
  constructor(
    readonly kind: "error" | "unavailable" | "timeout",
    message: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A wait for a provider that the request's own time limit cut short: no failure of the provider's. */
export class OutOfTime extends ProviderError {
  constructor(message: string) {
    super("timeout", message);
  }
}
