// OpenAI Chat Completions, the wire format of OpenAI and of every OpenAI-compatible provider
// (DeepSeek, Mistral, Perplexity, xAI, Groq, DashScope, local servers). What differs between
// them is declared in an OpenAIFlavor (see each provider's folder for its flavor and why), never
// coded as `if (provider === …)` here.
//
// Usage is requested in streams (stream_options.include_usage) wherever the provider needs it:
// billing never guesses when the provider can tell.
//
// A refusal (Structured Outputs: `refusal` beside content, in deltas and messages) becomes answer
// text: the provider events have no refusal of their own, and dropping it would leave an empty
// answer that looks like success.
//
// A stream is whole only once a finish_reason has come: a body that ends before one (a proxy or
// a provider's worker closing the connection in good order, with or without `data: [DONE]`) is a
// broken stream, a ProviderError, never a complete answer to store and cache. Perplexity's sonar
// streams end without [DONE], after their finish chunk: that is fine.

import type {
  AdapterFeatures,
  ChatMessage,
  Completion,
  ProviderAdapter,
  ProviderEvent,
  ProviderRequest,
  Usage,
} from "../types.ts";
import { functionCalls, ProviderError, samplingOf, textOf } from "../types.ts";
import { sseMessages } from "../sse.ts";
import { alternatingTurns } from "./turns.ts";

/** The root the official `openai` SDK uses. */
export const defaultBaseUrl = "https://api.openai.com/v1";

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** Perplexity reports reasoning tokens at the top level (part of completion_tokens). */
  reasoning_tokens?: number | null;
  /** DeepSeek's own cache accounting (prompt_tokens = hit + miss). */
  prompt_cache_hit_tokens?: number | null;
}

/** Mistral's typed content chunks (magistral models think in `thinking` chunks). */
interface ContentChunk {
  type?: string;
  text?: string;
  thinking?: string | ContentChunk[];
}

type Content = string | ContentChunk[] | null | undefined;

interface OpenAIToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface OpenAIDelta {
  content?: Content;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: OpenAIToolCallDelta[] | null;
}

interface OpenAIMessage {
  content?: Content;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[] | null;
}

interface SearchResult {
  url?: string;
}

interface OpenAIChunk {
  object?: string;
  choices?: { delta?: OpenAIDelta; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
  x_groq?: { usage?: OpenAIUsage | null } | null;
  citations?: string[] | null;
  search_results?: SearchResult[] | null;
  error?: { message?: string; type?: string; code?: string };
  message?: unknown;
}

interface OpenAIResponse {
  choices?: { message?: OpenAIMessage; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
  x_groq?: { usage?: OpenAIUsage | null } | null;
  citations?: string[] | null;
  search_results?: SearchResult[] | null;
}

/** A delta/message field that carries reasoning text. */
export type ReasoningField = "reasoning_content" | "reasoning";

/** Where a chunk's usage object can be. */
export type UsageLocation = "usage" | "x_groq.usage";

/** A usage field that counts prompt-cache hits. */
export type CachedTokensField = "prompt_tokens_details.cached_tokens" | "prompt_cache_hit_tokens";

/** What one OpenAI-compatible provider does differently, declaratively. */
export interface OpenAIFlavor {
  /** JSON modes and tool_choice values the provider honours (see AdapterFeatures). */
  features: AdapterFeatures;
  /** Name of the output-length parameter the provider expects. */
  maxTokensParam: "max_completion_tokens" | "max_tokens";
  /**
   * Whether to send stream_options.include_usage on streams (default true). False where the
   * provider always reports usage in streams and rejects the field (Mistral: 422 extra_forbidden).
   */
  streamUsageOption?: boolean;
  /** Delta/message fields holding reasoning text, first non-empty wins (default both). */
  reasoningFields?: readonly ReasoningField[];
  /**
   * Whether completion_tokens already counts the reasoning tokens (default true: OpenAI, DeepSeek,
   * Groq). False where completion_tokens_details.reasoning_tokens come on top and are billed as
   * output too (xAI): billed output = completion_tokens + reasoning_tokens.
   */
  reasoningIncludedInCompletion?: boolean;
  /**
   * content may be an array of typed chunks, {type:"text",text} and
   * {type:"thinking",thinking:[{type:"text",text}]} (Mistral). Off: only string content is read.
   */
  typedContentChunks?: boolean;
  /**
   * A `<think>…</think>` block opening the answer's content is reasoning, not answer (DeepSeek-R1
   * derived models served raw: Perplexity sonar-reasoning, Groq reasoning_format "raw", local
   * servers). Only a block at the very start counts.
   */
  thinkTags?: boolean;
  /** Top-level `citations` (URLs) and `search_results` ({url}) become citations events. */
  citations?: boolean;
  /** Where a chunk's usage may be, first present wins (default ["usage"]). */
  usageLocations?: readonly UsageLocation[];
  /** Usage fields counting cache-hit input tokens, first present wins. */
  cachedTokensFields?: readonly CachedTokensField[];
  /** Send no Authorization header when the key is empty (local servers need none). */
  apiKeyOptional?: boolean;
  /**
   * It honours `strict` on a function tool (the arguments then match its schema exactly): sent
   * where true; elsewhere left out, as an unknown field some providers refuse.
   */
  strictTools?: boolean;
  /**
   * The provider takes only alternating turns after one leading system message (Perplexity: 400
   * "… user and assistant roles should be alternating"): the history is reshaped so (see turns.ts).
   */
  alternatingTurns?: boolean;
  /**
   * The tool call ids the provider accepts in the history, when not any string: "alnumLength9",
   * exactly 9 letters and digits (Mistral). Other ids are mapped to such ids (see alnum9Id).
   */
  toolCallIds?: "alnumLength9";
}

const DEFAULT_REASONING_FIELDS: readonly ReasoningField[] = ["reasoning_content", "reasoning"];
const DEFAULT_USAGE_LOCATIONS: readonly UsageLocation[] = ["usage"];
const DEFAULT_CACHED_FIELDS: readonly CachedTokensField[] = ["prompt_tokens_details.cached_tokens"];

/** OpenAI itself. */
export const openaiFlavor: OpenAIFlavor = {
  maxTokensParam: "max_completion_tokens",
  strictTools: true,
  features: {
    responseFormats: ["json_object", "json_schema"],
    toolChoices: ["none", "required", "named"],
    parallelToolCalls: true,
    reasoningEffort: true,
  },
};

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = 0xffffffffffffffffn;

/**
 * A tool call id as exactly 9 letters and digits: such an id unchanged (the provider's own),
 * any other as 9 base-62 digits of its 64-bit FNV-1a hash. Deterministic, so a call's id and the
 * tool result answering it map alike, in every request of the conversation; 62^9 ids make a
 * collision within one conversation negligible.
 */
export function alnum9Id(id: string): string {
  if (/^[a-zA-Z0-9]{9}$/.test(id)) return id;
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(id)) h = ((h ^ BigInt(byte)) * FNV_PRIME) & U64;
  let out = "";
  for (let i = 0; i < 9; i++) {
    out += ALNUM[Number(h % 62n)];
    h /= 62n;
  }
  return out;
}

const sameId = (id: string) => id;

/**
 * A message in Chat Completions terms: parts as text/image_url, tool calls as function calls
 * (their ids, and the ids tool results answer, through `toolCallId`). User content of text parts
 * only is sent as one string (the parts joined, as textOf reads and counts them): text-only models
 * of some providers refuse a list of parts (Groq: 400 "messages[1].content must be a string"), and
 * every provider takes a string.
 */
export function toOpenAIMessage(
  m: ChatMessage,
  toolCallId: (id: string) => string = sameId,
): Record<string, unknown> {
  switch (m.role) {
    case "system":
      return { role: "system", content: m.content };
    case "user":
      return {
        role: "user",
        content: typeof m.content === "string" || m.content.every((p) => p.type === "text")
          ? textOf(m.content)
          : m.content.map((p) =>
            p.type === "text"
              ? { type: "text", text: p.text }
              : { type: "image_url", image_url: { url: p.url, ...(p.detail ? { detail: p.detail } : {}) } }
          ),
      };
    case "assistant":
      if (!m.toolCalls?.length) return { role: "assistant", content: m.content };
      return {
        role: "assistant",
        content: m.content || null,
        tool_calls: functionCalls(m.toolCalls.map((c) => ({ ...c, id: toolCallId(c.id) }))),
      };
    case "tool":
      return { role: "tool", tool_call_id: toolCallId(m.toolCallId), content: m.content };
  }
}

/**
 * tools, tool_choice and response_format as Chat Completions takes them (absent when unset); a
 * tool's `strict` only where the provider honours it (`strictTools`).
 */
export function openaiToolFields(req: ProviderRequest, strictTools = false): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        ...(t.parameters ? { parameters: t.parameters } : {}),
        ...(strictTools && t.strict !== undefined ? { strict: t.strict } : {}),
      },
    }));
  }
  const choice = req.toolChoice;
  if (choice !== undefined && req.tools?.length) {
    body.tool_choice = typeof choice === "string"
      ? choice
      : { type: "function", function: { name: choice.name } };
  }
  const format = req.responseFormat;
  if (format?.type === "json_object") body.response_format = { type: "json_object" };
  else if (format?.type === "json_schema") {
    const { name, description, schema, strict } = format;
    body.response_format = {
      type: "json_schema",
      json_schema: {
        name,
        ...(description ? { description } : {}),
        ...(schema ? { schema } : {}),
        ...(strict !== undefined ? { strict } : {}),
      },
    };
  }
  return body;
}

function cachedTokens(u: OpenAIUsage, fields: readonly CachedTokensField[]): number {
  for (const field of fields) {
    const v = field === "prompt_cache_hit_tokens"
      ? u.prompt_cache_hit_tokens
      : u.prompt_tokens_details?.cached_tokens;
    if (typeof v === "number") return v;
  }
  return 0;
}

/** Usage as billed (see Usage in ../types.ts), from an OpenAI-style usage object. */
export function normalizeUsage(u: OpenAIUsage, flavor: Partial<OpenAIFlavor> = {}): Usage {
  const prompt = u.prompt_tokens ?? 0;
  const completion = u.completion_tokens ?? 0;
  const reasoning = u.completion_tokens_details?.reasoning_tokens ?? u.reasoning_tokens ?? 0;
  const cached = cachedTokens(u, flavor.cachedTokensFields ?? DEFAULT_CACHED_FIELDS);
  return {
    // Cache hits are part of prompt_tokens; more hits than prompt tokens can only mean a
    // provider counted them apart, and inputTokens must hold every input token.
    inputTokens: cached > prompt ? prompt + cached : prompt,
    outputTokens: flavor.reasoningIncludedInCompletion === false ? completion + reasoning : completion,
    cachedInputTokens: cached,
    reasoningTokens: reasoning,
  };
}

function usageOf(
  body: { usage?: OpenAIUsage | null; x_groq?: { usage?: OpenAIUsage | null } | null },
  locations: readonly UsageLocation[],
): OpenAIUsage | undefined {
  for (const where of locations) {
    const u = where === "usage" ? body.usage : body.x_groq?.usage;
    if (u) return u;
  }
  return undefined;
}

function citationUrls(
  body: { citations?: string[] | null; search_results?: SearchResult[] | null },
): string[] {
  const urls: string[] = [];
  for (const url of body.citations ?? []) if (typeof url === "string" && url) urls.push(url);
  for (const r of body.search_results ?? []) if (typeof r?.url === "string" && r.url) urls.push(r.url);
  return urls;
}

/** Text and reasoning pieces of a content value, in order. */
function* contentPieces(
  content: Content,
  typed: boolean,
): Iterable<{ kind: "text" | "reasoning"; text: string }> {
  if (typeof content === "string") {
    if (content) yield { kind: "text", text: content };
    return;
  }
  if (!typed || !Array.isArray(content)) return;
  for (const chunk of content) {
    if (chunk?.type === "text" && typeof chunk.text === "string" && chunk.text) {
      yield { kind: "text", text: chunk.text };
    } else if (chunk?.type === "thinking") {
      const thinking = chunk.thinking;
      if (typeof thinking === "string") {
        if (thinking) yield { kind: "reasoning", text: thinking };
      } else {
        for (const part of thinking ?? []) {
          if (part?.type === "text" && typeof part.text === "string" && part.text) {
            yield { kind: "reasoning", text: part.text };
          }
        }
      }
    }
  }
}

function reasoningOf(
  m: { reasoning_content?: string | null; reasoning?: string | null },
  fields: readonly ReasoningField[],
): string | undefined {
  for (const field of fields) {
    const v = m[field];
    if (typeof v === "string" && v) return v;
  }
  return undefined;
}

const THINK_OPEN = "<think>";
const THINK_CLOSE = "</think>";

type Piece = { kind: "text" | "reasoning"; text: string };

/**
 * Splits answer text that may open with a <think>…</think> block into reasoning and text,
 * incrementally: tags may be cut anywhere between deltas.
 */
class ThinkSplitter {
  /** start: nothing decided yet; think: inside the block; gap: after it, skipping whitespace. */
  #mode: "start" | "think" | "gap" | "text" = "start";
  #buffer = "";

  *push(text: string): Iterable<Piece> {
    if (this.#mode === "gap") {
      text = text.replace(/^\s+/, "");
      if (text) this.#mode = "text";
    }
    if (this.#mode === "text" || this.#mode === "gap") {
      if (text) yield { kind: "text", text };
      return;
    }
    this.#buffer += text;
    if (this.#mode === "start") {
      const lead = this.#buffer.trimStart();
      if (THINK_OPEN.startsWith(lead)) return; // undecided: too little (or only whitespace) yet
      if (!lead.startsWith(THINK_OPEN)) {
        this.#mode = "text";
        const all = this.#buffer;
        this.#buffer = "";
        yield { kind: "text", text: all };
        return;
      }
      this.#mode = "think";
      this.#buffer = lead.slice(THINK_OPEN.length);
    }
    const end = this.#buffer.indexOf(THINK_CLOSE);
    if (end >= 0) {
      const reasoning = this.#buffer.slice(0, end);
      const rest = this.#buffer.slice(end + THINK_CLOSE.length).replace(/^\s+/, "");
      this.#buffer = "";
      this.#mode = rest ? "text" : "gap";
      if (reasoning) yield { kind: "reasoning", text: reasoning };
      if (rest) yield { kind: "text", text: rest };
      return;
    }
    // Hold back what could be the start of the closing tag.
    let keep = 0;
    for (let n = Math.min(THINK_CLOSE.length - 1, this.#buffer.length); n > 0; n--) {
      if (THINK_CLOSE.startsWith(this.#buffer.slice(-n))) {
        keep = n;
        break;
      }
    }
    const out = this.#buffer.slice(0, this.#buffer.length - keep);
    this.#buffer = this.#buffer.slice(this.#buffer.length - keep);
    if (out) yield { kind: "reasoning", text: out };
  }

  /** What is still held back, at the end of the answer. */
  *flush(): Iterable<Piece> {
    const rest = this.#buffer;
    this.#buffer = "";
    if (rest) yield { kind: this.#mode === "think" ? "reasoning" : "text", text: rest };
  }
}

function* asEvents(pieces: Iterable<Piece>): Iterable<ProviderEvent> {
  for (const p of pieces) {
    yield p.kind === "text" ? { type: "text", text: p.text } : { type: "reasoning", text: p.text };
  }
}

/** Per-stream memory: what was already reported, so repeated fields are not re-emitted. */
interface StreamState {
  urls: Set<string>;
  lastUsage: string | undefined;
  think: ThinkSplitter | undefined;
  /** Whether a finish_reason has come: the only sign that the answer is whole. */
  finished: boolean;
  /** Tool calls started so far: the next call's index, for deltas that carry none. */
  calls: number;
  /** The call that deltas without index continue: its id, and whether its name came. */
  current: { index: number; id: string | undefined; named: boolean } | undefined;
}

/**
 * The index of a tool-call delta. OpenAI numbers calls (`index`) and sends a call's id and name
 * only in its first delta. Some OpenAI-compatible servers (local ones) send calls without
 * `index`, often whole, one or several to a chunk: there, a delta that brings another id, or a
 * name when the current call has one, starts a new call; any other continues the current call
 * (its argument pieces).
 */
function toolCallIndex(call: OpenAIToolCallDelta, state: StreamState): number {
  const current = state.current;
  let index = call.index;
  if (index === undefined) {
    const another = (call.id !== undefined && current?.id !== undefined && call.id !== current.id) ||
      (call.function?.name !== undefined && current?.named === true);
    index = current && !another ? current.index : state.calls;
  }
  state.calls = Math.max(state.calls, index + 1);
  if (current?.index !== index) {
    state.current = { index, id: call.id, named: call.function?.name !== undefined };
  } else {
    if (call.id !== undefined) current.id = call.id;
    if (call.function?.name !== undefined) current.named = true;
  }
  return index;
}

export function openaiAdapter(flavor: OpenAIFlavor = openaiFlavor): ProviderAdapter {
  const reasoningFields = flavor.reasoningFields ?? DEFAULT_REASONING_FIELDS;
  const usageLocations = flavor.usageLocations ?? DEFAULT_USAGE_LOCATIONS;
  const typed = flavor.typedContentChunks === true;
  const toolCallId = flavor.toolCallIds === "alnumLength9" ? alnum9Id : sameId;
  const { parallelToolCalls, reasoningEffort } = flavor.features;

  function* chunkEvents(chunk: OpenAIChunk, state: StreamState): Iterable<ProviderEvent> {
    if (chunk.error) throw new ProviderError("error", chunk.error.message ?? "provider stream error");
    if (chunk.object === "error") {
      const m = chunk.message;
      throw new ProviderError(
        "error",
        typeof m === "string" ? m : JSON.stringify(m ?? "provider stream error"),
      );
    }
    if (flavor.citations) {
      const fresh = citationUrls(chunk).filter((u) => !state.urls.has(u));
      if (fresh.length) {
        const urls = [...new Set(fresh)];
        for (const u of urls) state.urls.add(u);
        yield { type: "citations", urls };
      }
    }
    const choice = chunk.choices?.[0];
    const delta = choice?.delta;
    if (delta) {
      const reasoning = reasoningOf(delta, reasoningFields);
      if (reasoning) yield { type: "reasoning", text: reasoning };
      for (const piece of contentPieces(delta.content, typed)) {
        if (piece.kind === "text" && state.think) yield* asEvents(state.think.push(piece.text));
        else yield* asEvents([piece]);
      }
      if (typeof delta.refusal === "string" && delta.refusal) yield { type: "refusal", text: delta.refusal };
      for (const call of delta.tool_calls ?? []) {
        yield {
          type: "tool_call",
          call: {
            index: toolCallIndex(call, state),
            id: call.id,
            name: call.function?.name,
            arguments: call.function?.arguments,
          },
        };
      }
    }
    if (choice?.finish_reason) {
      state.finished = true;
      yield { type: "finish", reason: choice.finish_reason };
    }
    const raw = usageOf(chunk, usageLocations);
    if (raw) {
      // Some providers (Perplexity) repeat a running total on every chunk: report changes only.
      const usage = normalizeUsage(raw, flavor);
      const key = JSON.stringify(usage);
      if (key !== state.lastUsage) {
        state.lastUsage = key;
        yield { type: "usage", usage };
      }
    }
  }

  return {
    features: flavor.features,

    buildRequest(req: ProviderRequest, endpoint, stream) {
      const body: Record<string, unknown> = {
        model: req.model.apiModel,
        messages: (flavor.alternatingTurns ? alternatingTurns(req.messages) : req.messages)
          .map((m) => toOpenAIMessage(m, toolCallId)),
        [flavor.maxTokensParam]: req.maxOutputTokens,
        stream,
        ...openaiToolFields(req, flavor.strictTools),
      };
      if (stream && flavor.streamUsageOption !== false) body.stream_options = { include_usage: true };
      const { temperature, topP } = samplingOf(req);
      if (temperature !== undefined) body.temperature = temperature;
      if (topP !== undefined) body.top_p = topP;
      if (req.stop?.length) body.stop = req.stop;
      // OpenAI refuses parallel_tool_calls without tools.
      if (parallelToolCalls && req.parallelToolCalls !== undefined && req.tools?.length) {
        body.parallel_tool_calls = req.parallelToolCalls;
      }
      if (reasoningEffort && req.reasoningEffort) body.reasoning_effort = req.reasoningEffort;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "accept": stream ? "text/event-stream" : "application/json",
      };
      if (endpoint.apiKey || !flavor.apiKeyOptional) headers.authorization = `Bearer ${endpoint.apiKey}`;
      return {
        url: `${endpoint.baseUrl.replace(/\/+$/, "")}/chat/completions`,
        init: { method: "POST", headers, body: JSON.stringify(body) },
      };
    },

    async *parseStream(body): AsyncIterable<ProviderEvent> {
      const state: StreamState = {
        urls: new Set(),
        lastUsage: undefined,
        think: flavor.thinkTags ? new ThinkSplitter() : undefined,
        finished: false,
        calls: 0,
        current: undefined,
      };
      for await (const message of sseMessages(body)) {
        if (message.data === "[DONE]") break;
        let chunk: OpenAIChunk;
        try {
          chunk = JSON.parse(message.data);
        } catch {
          throw new ProviderError("error", "provider sent malformed JSON in its stream");
        }
        yield* chunkEvents(chunk, state);
      }
      if (state.think) yield* asEvents(state.think.flush());
      if (!state.finished) throw new ProviderError("error", "provider stream ended before a finish_reason");
    },

    parseResponse(json): Completion {
      const body = json as OpenAIResponse;
      const choice = body.choices?.[0];
      const message: OpenAIMessage = choice?.message ?? {};
      let text = "";
      let reasoning = reasoningOf(message, reasoningFields) ?? null;
      const think = flavor.thinkTags ? new ThinkSplitter() : undefined;
      const pieces = [...contentPieces(message.content, typed)].flatMap((p) =>
        p.kind === "text" && think ? [...think.push(p.text)] : [p]
      );
      for (const piece of [...pieces, ...(think?.flush() ?? [])]) {
        if (piece.kind === "text") text += piece.text;
        else reasoning = (reasoning ?? "") + piece.text;
      }
      const raw = usageOf(body, usageLocations);
      return {
        text,
        refusal: typeof message.refusal === "string" && message.refusal ? message.refusal : null,
        reasoning,
        toolCalls: (message.tool_calls ?? []).map((c) => ({
          id: c.id,
          name: c.function.name,
          arguments: c.function.arguments,
        })),
        citations: flavor.citations ? [...new Set(citationUrls(body))] : [],
        finishReason: choice?.finish_reason ?? null,
        usage: raw ? normalizeUsage(raw, flavor) : null,
      };
    },
  };
}
