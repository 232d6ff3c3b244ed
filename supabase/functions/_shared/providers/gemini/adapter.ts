// Google Gemini generateContent / streamGenerateContent (https://ai.google.dev/api/generate-content),
// as the Gemini Developer API speaks it at the SDK root https://generativelanguage.googleapis.com.
//
// Usage: every chunk of a stream carries usageMetadata, a running total that later chunks
// supersede (even promptTokenCount can change in the last chunk), so the stream's usage is the
// last one seen, emitted once the stream has ended. Gemini reports thinking apart from the answer
// (thoughtsTokenCount is not in candidatesTokenCount) and bills both as output.

import type {
  ChatMessage,
  Completion,
  ProviderAdapter,
  ProviderEvent,
  ProviderRequest,
  ToolCall,
  Usage,
} from "../types.ts";
import { argumentsObject, parseDataUrl, ProviderError, samplingOf } from "../types.ts";
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

type GeminiPartOut = Record<string, unknown>;
type GeminiContent = { role: "user" | "model"; parts: GeminiPartOut[] };

/** Media types by file extension, for images given by URL (fileData wants one). */
const IMAGE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
};

function imagePart(url: string): GeminiPartOut {
  const data = parseDataUrl(url);
  if (data) return { inlineData: { mimeType: data.mediaType, data: data.data } };
  const ext = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase() ?? "";
  return { fileData: { fileUri: url, mimeType: IMAGE_TYPES[ext] ?? "image/jpeg" } };
}

/**
 * A tool result as Gemini's functionResponse: it names the function (found from the call's id in
 * the history) and wants an object, so a result that is not a JSON object is wrapped.
 */
function functionResponsePart(m: Extract<ChatMessage, { role: "tool" }>, names: Map<string, string>) {
  let response: unknown;
  try {
    response = JSON.parse(m.content);
  } catch {
    response = undefined;
  }
  if (!response || typeof response !== "object" || Array.isArray(response)) response = { result: m.content };
  return {
    functionResponse: {
      id: m.toolCallId,
      name: names.get(m.toolCallId) ?? m.toolCallId,
      response,
    },
  };
}

function partsOf(m: Exclude<ChatMessage, { role: "system" }>, names: Map<string, string>): GeminiPartOut[] {
  switch (m.role) {
    case "user":
      if (typeof m.content === "string") return m.content === "" ? [] : [{ text: m.content }];
      return m.content.filter((p) => p.type !== "text" || p.text !== "").map((p) =>
        p.type === "text" ? { text: p.text } : imagePart(p.url)
      );
    case "assistant":
      return [
        ...(m.content ? [{ text: m.content }] : []),
        ...(m.toolCalls ?? []).map((c) => ({
          functionCall: {
            ...(c.id ? { id: c.id } : {}),
            name: c.name,
            args: argumentsObject(c.arguments),
          },
        })),
      ];
    case "tool":
      return [functionResponsePart(m, names)];
  }
}

/** tools, toolConfig and the JSON mode, in Gemini's terms (full JSON Schema via the *JsonSchema fields). */
function geminiToolFields(req: ProviderRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (req.tools?.length) {
    body.tools = [{
      functionDeclarations: req.tools.map((t) => ({
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        ...(t.parameters ? { parametersJsonSchema: t.parameters } : {}),
      })),
    }];
    const choice = req.toolChoice;
    if (choice !== undefined) {
      body.toolConfig = {
        functionCallingConfig: typeof choice === "object"
          ? { mode: "ANY", allowedFunctionNames: [choice.name] }
          : { mode: choice === "required" ? "ANY" : choice === "none" ? "NONE" : "AUTO" },
      };
    }
  }
  return body;
}

/** The root the provider's official SDK uses; <P>_BASE_URL overrides it. */
export const defaultBaseUrl = "https://generativelanguage.googleapis.com";

export const geminiAdapter: ProviderAdapter = {
  features: { responseFormats: ["json_object", "json_schema"], toolChoices: ["none", "required", "named"] },

  buildRequest(req: ProviderRequest, endpoint, stream) {
    const system: { text: string }[] = [];
    const contents: GeminiContent[] = [];
    const names = new Map<string, string>();
    for (const m of req.messages) {
      if (m.role === "assistant") { for (const c of m.toolCalls ?? []) names.set(c.id, c.name); }
    }
    for (const m of req.messages) {
      if (m.role === "system") {
        if (m.content !== "") system.push({ text: m.content }); // Gemini rejects an empty text part
        continue;
      }
      const parts = partsOf(m, names);
      if (!parts.length) continue;
      const role = m.role === "assistant" ? "model" : "user";
      const last = contents.at(-1);
      // Turns alternate in Gemini's contents: consecutive same-role messages become one turn.
      if (last?.role === role) last.parts.push(...parts);
      else contents.push({ role, parts });
    }
    const generationConfig: Record<string, unknown> = { maxOutputTokens: req.maxOutputTokens };
    const { temperature, topP } = samplingOf(req);
    if (temperature !== undefined) generationConfig.temperature = temperature;
    if (topP !== undefined) generationConfig.topP = topP;
    if (req.stop?.length) generationConfig.stopSequences = req.stop;
    // Thinking models stream summaries of their thoughts only when asked to.
    if (req.model.capabilities.includes("reasoning")) {
      generationConfig.thinkingConfig = { includeThoughts: true };
    }
    const format = req.responseFormat;
    if (format?.type === "json_object" || format?.type === "json_schema") {
      generationConfig.responseMimeType = "application/json";
      if (format.type === "json_schema" && format.schema) generationConfig.responseJsonSchema = format.schema;
    }
    const body: Record<string, unknown> = { contents, ...geminiToolFields(req) };
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
    const state: ParseState = { toolCalls: 0, finished: false };
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
    // A body that ends before any finishReason was cut (the running usage above is still what
    // Gemini counted so far): a broken stream, never a whole answer.
    if (!state.finished) throw new ProviderError("error", "gemini stream ended before a finishReason");
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
    for (const e of chunkEvents(body, { toolCalls: 0, finished: false })) {
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
  /** Whether a finishReason has come: the only sign that a streamed answer is whole. */
  finished: boolean;
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
  if (candidate.finishReason) {
    state.finished = true;
    yield { type: "finish", reason: candidate.finishReason };
  }
}
