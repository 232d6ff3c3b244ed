// Google Gemini generateContent / streamGenerateContent (https://ai.google.dev/api/generate-content),
// as the Gemini Developer API speaks it at the SDK root https://generativelanguage.googleapis.com.
//
// Usage: every chunk of a stream carries usageMetadata, a running total that later chunks
// supersede (even promptTokenCount can change in the last chunk), so the stream's usage is the
// last one seen, emitted once the stream has ended. Gemini reports thinking apart from the answer
// (thoughtsTokenCount is not in candidatesTokenCount) and bills both as output.

import type {
  Completion,
  ProviderAdapter,
  ProviderEvent,
  ProviderRequest,
  ToolCall,
  Usage,
} from "../types.ts";
import { ProviderError } from "../types.ts";
import { sseMessages } from "../sse.ts";

export interface GeminiUsageMetadata {
  /** Every prompt token, cached content included. */
  promptTokenCount?: number;
  /** Of promptTokenCount, read from the context cache. */
  cachedContentTokenCount?: number;
  /** The answer's tokens, thinking excluded. */
  candidatesTokenCount?: number;
  /** Thinking tokens (billed as output, not in candidatesTokenCount). */
  thoughtsTokenCount?: number;
  /** Tokens of tool-use prompts (e.g. search results fed back to the model), billed as input. */
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name?: string; args?: unknown };
}

interface GeminiCandidate {
  content?: { parts?: GeminiPart[]; role?: string };
  finishReason?: string;
  groundingMetadata?: {
    groundingChunks?: {
      web?: { uri?: string };
      retrievedContext?: { uri?: string };
      maps?: { uri?: string };
    }[];
  };
}

interface GeminiResponse {
  candidates?: GeminiCandidate[];
  usageMetadata?: GeminiUsageMetadata;
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  error?: { code?: number; message?: string; status?: string };
}

/** Gemini's usageMetadata in our billing terms (see Usage in ../types.ts). */
export function normalizeGeminiUsage(u: GeminiUsageMetadata): Usage {
  const thoughts = u.thoughtsTokenCount ?? 0;
  return {
    inputTokens: (u.promptTokenCount ?? 0) + (u.toolUsePromptTokenCount ?? 0),
    outputTokens: (u.candidatesTokenCount ?? 0) + thoughts,
    cachedInputTokens: u.cachedContentTokenCount ?? 0,
    reasoningTokens: thoughts,
  };
}

/** The API version path segment under the SDK root. */
export const GEMINI_API_VERSION = "v1beta";

type GeminiContent = { role: "user" | "model"; parts: { text: string }[] };

/** The root the provider's official SDK uses; <P>_BASE_URL overrides it. */
export const defaultBaseUrl = "https://generativelanguage.googleapis.com";

export const geminiAdapter: ProviderAdapter = {
  buildRequest(req: ProviderRequest, endpoint, stream) {
    const system: { text: string }[] = [];
    const contents: GeminiContent[] = [];
    for (const m of req.messages) {
      if (m.content === "") continue; // Gemini rejects an empty text part
      if (m.role === "system") {
        system.push({ text: m.content });
        continue;
      }
      const role = m.role === "assistant" ? "model" : "user";
      const last = contents.at(-1);
      // Turns alternate in Gemini's contents: consecutive same-role messages become one turn.
      if (last?.role === role) last.parts.push({ text: m.content });
      else contents.push({ role, parts: [{ text: m.content }] });
    }
    const generationConfig: Record<string, unknown> = { maxOutputTokens: req.maxOutputTokens };
    if (req.temperature !== undefined) generationConfig.temperature = req.temperature;
    if (req.topP !== undefined) generationConfig.topP = req.topP;
    if (req.stop?.length) generationConfig.stopSequences = req.stop;
    // Thinking models stream summaries of their thoughts only when asked to.
    if (req.model.capabilities.includes("reasoning")) {
      generationConfig.thinkingConfig = { includeThoughts: true };
    }
    const body: Record<string, unknown> = { contents };
    if (system.length) body.systemInstruction = { parts: system };
    body.generationConfig = generationConfig;

    const model = encodeURIComponent(req.model.apiModel.replace(/^models\//, ""));
    const method = stream ? "streamGenerateContent?alt=sse" : "generateContent";
    return {
      url: `${endpoint.baseUrl.replace(/\/+$/, "")}/${GEMINI_API_VERSION}/models/${model}:${method}`,
      init: {
        method: "POST",
        headers: {
          "x-goog-api-key": endpoint.apiKey,
          "content-type": "application/json",
          "accept": stream ? "text/event-stream" : "application/json",
        },
        body: JSON.stringify(body),
      },
    };
  },

  async *parseStream(body): AsyncIterable<ProviderEvent> {
    const state: ParseState = { toolCalls: 0 };
    let usage: GeminiUsageMetadata | undefined;
    for await (const message of sseMessages(body)) {
      if (message.data.trim() === "") continue;
      let chunk: GeminiResponse;
      try {
        chunk = JSON.parse(message.data);
      } catch {
        throw new ProviderError("error", "provider sent malformed JSON in its stream");
      }
      yield* chunkEvents(chunk, state);
      if (chunk.usageMetadata) usage = chunk.usageMetadata;
    }
    if (usage) yield { type: "usage", usage: normalizeGeminiUsage(usage) };
  },

  parseResponse(json): Completion {
    const body = (json ?? {}) as GeminiResponse;
    const out: Completion = {
      text: "",
      reasoning: null,
      toolCalls: [],
      citations: [],
      finishReason: null,
      usage: body.usageMetadata ? normalizeGeminiUsage(body.usageMetadata) : null,
    };
    const calls: ToolCall[] = [];
    for (const e of chunkEvents(body, { toolCalls: 0 })) {
      switch (e.type) {
        case "text":
          out.text += e.text;
          break;
        case "reasoning":
          out.reasoning = (out.reasoning ?? "") + e.text;
          break;
        case "tool_call":
          calls[e.call.index] = {
            id: e.call.id ?? "",
            name: e.call.name ?? "",
            arguments: e.call.arguments ?? "",
          };
          break;
        case "citations":
          for (const url of e.urls) if (!out.citations.includes(url)) out.citations.push(url);
          break;
        case "finish":
          out.finishReason = e.reason;
      }
    }
    out.toolCalls = calls;
    return out;
  },
};

interface ParseState {
  /** Function calls seen so far (each gets the next tool-call index). */
  toolCalls: number;
}

function errorKind(code: number | undefined): ProviderError["kind"] {
  if (code === 429 || code === 503) return "unavailable";
  if (code === 504 || code === 408) return "timeout";
  return "error";
}

function* chunkEvents(chunk: GeminiResponse, state: ParseState): Iterable<ProviderEvent> {
  if (chunk.error) {
    const { code, status, message } = chunk.error;
    throw new ProviderError(
      errorKind(code),
      `gemini ${status ?? "error"}${code ? ` (${code})` : ""}: ${message ?? "provider stream error"}`,
      code,
    );
  }
  const blocked = chunk.promptFeedback?.blockReason;
  if (blocked) {
    const detail = chunk.promptFeedback?.blockReasonMessage;
    throw new ProviderError("error", `gemini blocked the prompt (${blocked})${detail ? `: ${detail}` : ""}`);
  }
  const candidate = chunk.candidates?.[0];
  if (!candidate) return;
  for (const part of candidate.content?.parts ?? []) {
    if (part.functionCall) {
      const { id, name, args } = part.functionCall;
      yield {
        type: "tool_call",
        call: { index: state.toolCalls++, id, name: name ?? "", arguments: JSON.stringify(args ?? {}) },
      };
    } else if (part.text) {
      yield part.thought ? { type: "reasoning", text: part.text } : { type: "text", text: part.text };
    }
  }
  const urls: string[] = [];
  for (const g of candidate.groundingMetadata?.groundingChunks ?? []) {
    const uri = g.web?.uri ?? g.retrievedContext?.uri ?? g.maps?.uri;
    if (uri && !urls.includes(uri)) urls.push(uri);
  }
  if (urls.length) yield { type: "citations", urls };
  if (candidate.finishReason) yield { type: "finish", reason: candidate.finishReason };
}
