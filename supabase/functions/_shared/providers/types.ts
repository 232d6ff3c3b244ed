// The provider-neutral shapes every adapter maps to and from.

import type { ChatModel } from "../catalog/index.ts";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ProviderRequest {
  model: ChatModel;
  messages: ChatMessage[];
  maxOutputTokens: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
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
  | { type: "tool_call"; call: ToolCallDelta }
  | { type: "citations"; urls: string[] }
  | { type: "finish"; reason: string }
  | { type: "usage"; usage: Usage };

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface Completion {
  text: string;
  reasoning: string | null;
  toolCalls: ToolCall[];
  /** Sources the answer cites (Perplexity, Cohere), in order, without duplicates. */
  citations: string[];
  finishReason: string | null;
  usage: Usage | null;
}

export interface ProviderEndpoint {
  baseUrl: string;
  apiKey: string;
}

/** A wire format, declaratively: how to build the HTTP request, how to read the answer. */
export interface ProviderAdapter {
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
