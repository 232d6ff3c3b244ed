// Simulated OpenAI provider: a loopback server speaking OpenAI's Chat Completions wire format
// (https://platform.openai.com/docs/api-reference/chat), so the product runs with no API key.
// Also stands in for the OpenAI-compatible providers: the `flavor` option makes it answer as
// DeepSeek, xAI, Perplexity or Mistral do where it matters to billing and parsing (see FLAVORS
// below); Groq, DashScope and local servers are served by the default flavor with their model
// ids in the `models` option.
//
//   POST /v1/chat/completions   streaming (SSE) and not; usage; max_tokens; stop; n=1 only
//   GET  /v1/models             OpenAI's list shape (owned_by "nexus-simulator")
//   GET  /v1/models/{id}        any id
//   /__simulator/…              fault plan and counters (see control.ts)
//
// Replies are deterministic (reply.ts) and token counts follow tokens.ts. Pacing: the options,
// or per request the headers x-simulator-latency-ms and x-simulator-tps.
//
// Standalone: deno run -A scripts/simulators/openai.ts --port 1234 --tps 80 --first-token-ms 200
// (OPENAI_SIMULATOR_FLAVOR=deepseek|xai|perplexity|mistral picks a flavor)

import { z } from "zod";
import { type Fault, FaultController, serveProvider, SimulatorStats } from "./control.ts";
import {
  CutStream,
  droppedResponse,
  pacingFor,
  type RequestContext,
  runSimulatorCli,
  type Simulator,
  type SimulatorOptions,
  sleep,
  untilAborted,
} from "./http.ts";
import { fnv1a, seededRandom, simulatedReply } from "./reply.ts";
import { countTokens, estimateMessageTokens, REPLY_PRIMING_TOKENS, tokenize } from "./tokens.ts";
import { callId, jsonReply, planToolCall, type SimCall, toolResultReply } from "./tools.ts";

export type { Simulator, SimulatorOptions } from "./http.ts";

export interface OpenAISimulatorOptions extends SimulatorOptions {
  /** Model ids listed by GET /v1/models (any id is accepted for chat); default: the flavor's. */
  models?: string[];
  /** Which provider's dialect of the wire format to speak (default "openai"). */
  flavor?: OpenAIFlavorName;
}

/**
 * The OpenAI-compatible dialects the simulator speaks, each as the provider's real API does
 * (shapes as in ../shared/fixtures/providers):
 *
 * - `openai`: OpenAI itself (no reasoning, no prompt cache).
 * - `deepseek`: a `*reasoner*` model streams `reasoning_content` deltas (content null) before the
 *   answer; completion_tokens INCLUDES the reasoning tokens, also given as
 *   completion_tokens_details.reasoning_tokens; the prompt cache reports hits as
 *   prompt_cache_hit_tokens / prompt_cache_miss_tokens (and prompt_tokens_details.cached_tokens),
 *   in 64-token blocks; with stream_options.include_usage every chunk has `usage: null` and the
 *   finish chunk carries the usage.
 * - `xai`: grok-3-mini streams `reasoning_content`, grok-4 reasons without sending the text;
 *   completion_tokens does NOT include the reasoning tokens (reported apart,
 *   total = prompt + completion + reasoning); the prompt cache reports cached_tokens; usage
 *   (with include_usage) in a final choices:[] chunk; the reasoning models refuse `stop` with
 *   xAI's 400 (see xaiArgumentError).
 * - `perplexity`: every chunk carries `citations` and `search_results` and a running `usage`
 *   total (no stream_options needed); the last chunk's object is "chat.completion.done" and the
 *   stream ends without `data: [DONE]`; the answer has [n] citation markers; after the
 *   (optional) leading system messages, user and assistant turns must alternate, starting with
 *   the user's, or it answers 400 as Perplexity does (see perplexityTurnsError).
 * - `mistral`: `max_tokens` only, and unknown fields (max_completion_tokens, stream_options, …)
 *   are rejected with 422 extra_forbidden; usage always on the finish chunk; magistral models
 *   think in typed content chunks ({"type":"thinking","thinking":[{"type":"text",…}]}) that
 *   completion_tokens counts.
 *
 * For every dialect, max_tokens / max_completion_tokens bounds reasoning and answer together;
 * a fault's afterTokens counts the streamed tokens, reasoning included; the stats count billed
 * output (reasoning + answer) as completion tokens.
 */
export type OpenAIFlavorName = "openai" | "deepseek" | "xai" | "perplexity" | "mistral";

interface FlavorSpec {
  /** Model ids GET /v1/models lists by default. */
  models: string[];
  /** Whether a model reasons, and whether its reasoning text is sent or only billed. */
  reasoning(model: string): "visible" | "hidden" | "none";
  /** Simulated prompt cache: hits counted in whole blocks of this many tokens; none if unset. */
  cacheBlockTokens?: number;
  /** Whether the stream ends with `data: [DONE]`. */
  doneMarker: boolean;
}

export const DEFAULT_OPENAI_MODELS = [
  "gpt-4o",
  "gpt-4o-mini",
  "gpt-4.1",
  "gpt-4.1-mini",
  "gpt-4.1-nano",
  "o1",
  "o3-mini",
  "dall-e-3",
  "whisper-1",
  "tts-1",
];

const FLAVORS: Record<OpenAIFlavorName, FlavorSpec> = {
  openai: { models: DEFAULT_OPENAI_MODELS, reasoning: () => "none", doneMarker: true },
  deepseek: {
    models: ["deepseek-chat", "deepseek-reasoner"],
    reasoning: (m) => /reasoner/.test(m) ? "visible" : "none",
    cacheBlockTokens: 64, // DeepSeek's cache storage unit
    doneMarker: true,
  },
  xai: {
    models: ["grok-4", "grok-3", "grok-3-mini"],
    reasoning: (m) =>
      /^grok-3-mini/.test(m) ? "visible" : /^grok-4/.test(m) && !/non-reasoning/.test(m) ? "hidden" : "none",
    cacheBlockTokens: 1,
    doneMarker: true,
  },
  perplexity: { models: ["sonar", "sonar-pro"], reasoning: () => "none", doneMarker: false },
  mistral: {
    models: [
      "mistral-large-latest",
      "mistral-small-latest",
      "codestral-latest",
      "pixtral-large-latest",
      "magistral-medium-latest",
    ],
    reasoning: (m) => /^magistral/.test(m) ? "visible" : "none",
    doneMarker: true,
  },
};

/** Sources a simulated Perplexity answer cites (.invalid: never a real site). */
const SIMULATED_SOURCES = [1, 2, 3].map((n) => ({
  title: `Simulated source ${n}`,
  url: `https://sources.simulator.invalid/${n}`,
  date: null,
}));

/** Request fields Mistral's chat completions accept; any other is a 422 (extra_forbidden). */
const MISTRAL_PARAMS = new Set([
  "model",
  "messages",
  "temperature",
  "top_p",
  "max_tokens",
  "stream",
  "stop",
  "random_seed",
  "response_format",
  "tools",
  "tool_choice",
  "presence_penalty",
  "frequency_penalty",
  "n",
  "prediction",
  "parallel_tool_calls",
  "prompt_mode",
  "safe_prompt",
]);

const SYSTEM_FINGERPRINT = "fp_simulated";
const MODEL_CREATED = 1_700_000_000;
const RATE_LIMIT_REQUESTS = 500;
const RATE_LIMIT_TOKENS = 200_000;
const SERVER_ERROR = {
  message: "The server had an error while processing your request. Sorry about that! (simulated fault)",
  type: "server_error",
  param: null,
  code: null,
};

// ---------------------------------------------------------------------------------------------
// Request body

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const Message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
  name: z.string().optional(),
  refusal: z.string().nullish(),
  tool_calls: z.array(
    z.looseObject({ function: z.looseObject({ name: z.string(), arguments: z.string() }).optional() }),
  ).nullish(),
});
const Body = z.looseObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({
    include_usage: z.boolean().nullish(),
    include_obfuscation: z.boolean().nullish(),
  }).nullish(),
  max_tokens: z.int().min(1).nullish(),
  max_completion_tokens: z.int().min(1).nullish(),
  n: z.int().min(1).max(128).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  tools: z.array(z.looseObject({
    type: z.literal("function"),
    function: z.looseObject({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
      description: z.string().nullish(),
      parameters: z.record(z.string(), z.unknown()).nullish(),
    }),
  })).nullish(),
  tool_choice: z.union([
    z.enum(["none", "auto", "required", "any"]),
    z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) }),
  ]).nullish(),
  response_format: z.looseObject({
    type: z.enum(["text", "json_object", "json_schema"]),
    json_schema: z.looseObject({ name: z.string().optional(), schema: z.unknown().optional() }).nullish(),
  }).nullish(),
});
type ChatBody = z.output<typeof Body>;
type ChatMessage = z.output<typeof Message>;

// ---------------------------------------------------------------------------------------------
// Responses in OpenAI's shapes

interface ApiErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

function requestId(): string {
  return "req_" + crypto.randomUUID().replaceAll("-", "");
}

function baseHeaders(extra: Record<string, string> = {}): Headers {
  return new Headers({
    "x-request-id": requestId(),
    "openai-version": "2020-10-01",
    "openai-processing-ms": "1",
    "x-simulated-provider": "openai",
    ...extra,
  });
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const h = baseHeaders(headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

function apiError(status: number, error: ApiErrorBody, headers: Record<string, string> = {}): Response {
  return json({ error }, status, headers);
}

function invalidRequest(message: string, param: string | null = null, code: string | null = null): Response {
  return apiError(400, { message, type: "invalid_request_error", param, code });
}

function rateLimitHeaders(remainingRequests: number, resetRequests: string): Record<string, string> {
  return {
    "x-ratelimit-limit-requests": String(RATE_LIMIT_REQUESTS),
    "x-ratelimit-limit-tokens": String(RATE_LIMIT_TOKENS),
    "x-ratelimit-remaining-requests": String(remainingRequests),
    "x-ratelimit-remaining-tokens": String(RATE_LIMIT_TOKENS - 1_000),
    "x-ratelimit-reset-requests": resetRequests,
    "x-ratelimit-reset-tokens": "300ms",
  };
}

/** Formats a zod path like OpenAI's `param`: messages[0].role */
function paramOf(path: PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`).join(
    "",
  );
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a decimal";
  if (typeof v === "boolean") return "a boolean";
  return typeof v;
}

/** The first validation issue as OpenAI words it. */
function validationError(error: z.ZodError): Response {
  const issue = error.issues[0];
  const param = paramOf(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) {
        return invalidRequest(`Missing required parameter: '${param}'.`, param, "missing_required_parameter");
      }
      return invalidRequest(
        `Invalid type for '${param}': expected ${issue.expected}, but got ${typeName(input)} instead.`,
        param,
        "invalid_type",
      );
    case "invalid_union":
      return invalidRequest(`Invalid type for '${param}': got ${typeName(input)}.`, param, "invalid_type");
    case "too_small":
      if (issue.origin === "array") {
        return invalidRequest(
          `Invalid '${param}': empty array. Expected an array with minimum length ${issue.minimum}, but got an empty array instead.`,
          param,
          "empty_array",
        );
      }
      if (issue.origin === "string") {
        return invalidRequest(
          `Invalid '${param}': string too short. Expected a string with minimum length ${issue.minimum}, but got an empty string instead.`,
          param,
          "string_too_short",
        );
      }
      return invalidRequest(
        `Invalid '${param}': integer below minimum value. Expected a value >= ${issue.minimum}, but got ${
          String(input)
        } instead.`,
        param,
        "integer_below_min_value",
      );
    case "too_big":
      return invalidRequest(
        `Invalid '${param}': ${
          issue.origin === "array" ? "array too long" : "integer above maximum value"
        }. ` +
          `Expected a value <= ${issue.maximum}.`,
        param,
        issue.origin === "array" ? "array_above_max_length" : "integer_above_max_value",
      );
    case "invalid_value":
      return invalidRequest(
        `Invalid value: '${String(input)}'. Supported values are: ${
          issue.values.map((v) => `'${String(v)}'`).join(", ")
        }.`,
        param,
        "invalid_value",
      );
    default:
      return invalidRequest(`Invalid '${param}': ${issue.message}.`, param, "invalid_value");
  }
}

// ---------------------------------------------------------------------------------------------
// Generation

function textsOf(m: ChatMessage): { texts: string[]; images: number } {
  const texts: string[] = [];
  let images = 0;
  if (typeof m.content === "string") texts.push(m.content);
  else if (Array.isArray(m.content)) {
    for (const part of m.content) {
      if (typeof part.text === "string") texts.push(part.text);
      else if (part.type === "refusal" && typeof part.refusal === "string") texts.push(part.refusal);
      else if (part.type === "image_url") images++;
    }
  }
  if (m.refusal) texts.push(m.refusal);
  for (const call of m.tool_calls ?? []) {
    if (call.function) texts.push(call.function.name, call.function.arguments);
  }
  return { texts, images };
}

interface Generation {
  /** The model's tool call instead of text, when it calls one (see tools.ts). */
  toolCall?: { id: string; name: string; arguments: string; pieces: string[] };
  /** Reasoning tokens, before the answer (streamed when reasoningVisible, else only billed). */
  reasoningPieces: string[];
  reasoningVisible: boolean;
  /** Answer tokens. */
  pieces: string[];
  content: string;
  finishReason: "stop" | "length" | "tool_calls";
  promptTokens: number;
  /** Of promptTokens, served from the simulated prompt cache. */
  cachedTokens: number;
  /** Seeds the obfuscation padding so a whole stream is reproducible. */
  seed: number;
}

/** Tokens of the answer: its text, or its tool call (name and arguments). */
function answerTokens(g: Generation): number {
  return g.pieces.length + (g.toolCall ? countTokens(g.toolCall.name) + g.toolCall.pieces.length : 0);
}

/** Billed output tokens: reasoning and answer. */
function outputTokens(g: Generation): number {
  return g.reasoningPieces.length + answerTokens(g);
}

/** The request's tools, tool_choice and position in neutral terms (see tools.ts). */
function plannedCall(body: ChatBody): SimCall | null {
  const tools = (body.tools ?? []).map((t) => ({ name: t.function.name, parameters: t.function.parameters }));
  const c = body.tool_choice ?? "auto";
  const choice = typeof c === "object" ? { name: c.function.name } : c === "any" ? "required" : c;
  return planToolCall(tools, choice, body.messages.at(-1)?.role === "tool");
}

/** The simulated chain of thought (deterministic, says what it is). */
function simulatedReasoning(model: string, lastUserText: string | undefined): string {
  return `Simulated reasoning of ${model}: the last user message has ${countTokens(lastUserText ?? "")} ` +
    "tokens. A simulator does not think; it answers with its fixed reply, and these reasoning tokens " +
    "are billed as output like a real model's.";
}

function generate(body: ChatBody, opts: OpenAISimulatorOptions, flavor: OpenAIFlavorName): Generation {
  const lastUser = body.messages.findLast((m) => m.role === "user");
  const lastUserText = lastUser ? textsOf(lastUser).texts.join("\n") : undefined;
  const seedText = JSON.stringify(body.messages);
  const call = plannedCall(body);
  const results = body.messages.at(-1)?.role === "tool"
    ? body.messages.slice(body.messages.findLastIndex((m) => m.role !== "tool") + 1)
      .map((m) => textsOf(m).texts.join(""))
    : [];
  const format = body.response_format?.type;
  let text = call
    ? ""
    : results.length
    ? toolResultReply(body.model, results)
    : format === "json_object" || format === "json_schema"
    ? jsonReply(body.model, body.response_format?.json_schema?.schema, lastUserText)
    : simulatedReply({
      model: body.model,
      lastUserText,
      seed: seedText,
      maxTokens: opts.maxReplyTokens,
    });
  if (flavor === "perplexity" && !format) {
    text += SIMULATED_SOURCES.slice(0, 2).map((_, i) => `[${i + 1}]`).join("");
  }
  // stop: the reply ends just before the earliest stop sequence (finish_reason "stop").
  const stops = (typeof body.stop === "string" ? [body.stop] : body.stop ?? []).filter((s) => s.length > 0);
  let cut = text.length;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  text = text.slice(0, cut);
  const reasons = FLAVORS[flavor].reasoning(body.model);
  // A tool call is the whole answer (no reasoning is simulated before it).
  let reasoningPieces = reasons === "none" || call
    ? []
    : tokenize(simulatedReasoning(body.model, lastUserText));
  let pieces = tokenize(text);
  let finishReason: Generation["finishReason"] = call ? "tool_calls" : "stop";
  // The output budget bounds reasoning and answer together.
  const limit = body.max_completion_tokens ?? body.max_tokens;
  if (limit != null && reasoningPieces.length + pieces.length > limit) {
    reasoningPieces = reasoningPieces.slice(0, limit);
    pieces = pieces.slice(0, limit - reasoningPieces.length);
    finishReason = "length";
  }
  const promptTokens = estimateMessageTokens(
    body.messages.map((m) => ({ role: m.role, name: m.name, ...textsOf(m) })),
    body.tools?.length ? [JSON.stringify(body.tools)] : [],
  );
  return {
    ...(call ? { toolCall: { ...call, id: callId("call_"), pieces: tokenize(call.arguments) } } : {}),
    reasoningPieces,
    reasoningVisible: reasons === "visible",
    pieces,
    content: pieces.join(""),
    finishReason,
    promptTokens,
    cachedTokens: 0,
    seed: fnv1a(seedText),
  };
}

/**
 * A prompt cache as providers run them: a request to a model whose leading messages were all
 * seen before (in an earlier request for the same model) reads their tokens from the cache, in
 * whole blocks.
 */
class PromptCache {
  #seen = new Set<number>();

  /** Cached tokens for these messages (then remembers each of their prefixes). */
  lookup(model: string, messages: ChatMessage[], blockTokens: number): number {
    const key = (k: number) => fnv1a(`${model}\n${JSON.stringify(messages.slice(0, k))}`);
    let hit = 0;
    for (let k = messages.length; k > 0; k--) {
      if (this.#seen.has(key(k))) {
        hit = prefixTokens(messages.slice(0, k));
        break;
      }
    }
    if (this.#seen.size > 10_000) this.#seen.clear();
    for (let k = 1; k <= messages.length; k++) this.#seen.add(key(k));
    return Math.floor(hit / blockTokens) * blockTokens;
  }
}

/** Prompt tokens of some leading messages (as counted in prompt_tokens, without the priming). */
function prefixTokens(messages: ChatMessage[]): number {
  return estimateMessageTokens(messages.map((m) => ({ role: m.role, name: m.name, ...textsOf(m) }))) -
    REPLY_PRIMING_TOKENS;
}

function usageOf(g: Generation) {
  return {
    prompt_tokens: g.promptTokens,
    completion_tokens: answerTokens(g),
    total_tokens: g.promptTokens + answerTokens(g),
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/**
 * The usage object in the flavor's own shape. `sentPieces` (Perplexity's running totals): the
 * answer tokens sent so far.
 */
function flavorUsage(
  flavor: OpenAIFlavorName,
  g: Generation,
  sentPieces = g.pieces.length,
): Record<string, unknown> {
  const p = g.promptTokens;
  const r = g.reasoningPieces.length;
  const c = answerTokens(g);
  switch (flavor) {
    case "openai":
      return usageOf(g);
    case "deepseek":
      return {
        prompt_tokens: p,
        completion_tokens: r + c,
        total_tokens: p + r + c,
        prompt_tokens_details: { cached_tokens: g.cachedTokens },
        // deepseek-chat reports no completion_tokens_details; deepseek-reasoner does
        ...(g.reasoningVisible ? { completion_tokens_details: { reasoning_tokens: r } } : {}),
        prompt_cache_hit_tokens: g.cachedTokens,
        prompt_cache_miss_tokens: p - g.cachedTokens,
      };
    case "xai":
      return {
        prompt_tokens: p,
        completion_tokens: c,
        total_tokens: p + c + r,
        prompt_tokens_details: {
          text_tokens: p,
          audio_tokens: 0,
          image_tokens: 0,
          cached_tokens: g.cachedTokens,
        },
        completion_tokens_details: {
          reasoning_tokens: r,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
        num_sources_used: 0,
      };
    case "perplexity":
      return { prompt_tokens: p, completion_tokens: sentPieces, total_tokens: p + sentPieces };
    case "mistral":
      return { prompt_tokens: p, total_tokens: p + r + c, completion_tokens: r + c };
  }
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomString(n: number, rand: () => number = Math.random): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ID_ALPHABET[Math.floor(rand() * ID_ALPHABET.length)];
  return s;
}

/** A tool call in a non-streamed message: content null and the call, as OpenAI sends them. */
function callFields(g: Generation): Record<string, unknown> {
  if (!g.toolCall) return {};
  const { id, name, arguments: args } = g.toolCall;
  return { content: null, tool_calls: [{ id, type: "function", function: { name, arguments: args } }] };
}

/** A non-streamed answer in the flavor's shape (not "openai": that one is built inline). */
function flavorCompletion(
  flavor: OpenAIFlavorName,
  g: Generation,
  id: string,
  created: number,
  model: string,
): Record<string, unknown> {
  const reasoning = g.reasoningVisible ? g.reasoningPieces.join("") : undefined;
  const usage = flavorUsage(flavor, g);
  switch (flavor) {
    case "deepseek":
      return {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: g.content,
            ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
            ...callFields(g),
          },
          logprobs: null,
          finish_reason: g.finishReason,
        }],
        usage,
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
    case "xai":
      return {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: g.content,
            ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
            refusal: null,
            ...callFields(g),
          },
          finish_reason: g.finishReason,
        }],
        usage,
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
    case "mistral":
      return {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            tool_calls: null,
            // magistral: typed chunks, the thinking first
            content: reasoning !== undefined
              ? [
                { type: "thinking", thinking: [{ type: "text", text: reasoning }] },
                { type: "text", text: g.content },
              ]
              : g.content,
            ...callFields(g),
          },
          finish_reason: g.finishReason,
        }],
        usage,
      };
    case "perplexity":
      return {
        id,
        model,
        created,
        usage,
        citations: SIMULATED_SOURCES.map((s) => s.url),
        search_results: SIMULATED_SOURCES,
        object: "chat.completion",
        choices: [{
          index: 0,
          finish_reason: g.finishReason,
          message: { role: "assistant", content: g.content },
          delta: { role: "assistant", content: "" },
        }],
      };
    case "openai":
      throw new Error("the openai completion is built inline");
  }
}

/** The checks OpenAI makes on tools, tool messages and image parts, in its words; undefined when fine. */
function toolAndImageError(body: ChatBody): Response | undefined {
  if (body.tool_choice != null && !body.tools?.length) {
    return invalidRequest(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      "tool_choice",
    );
  }
  const called = new Set<string>();
  for (const [i, m] of body.messages.entries()) {
    for (const c of m.tool_calls ?? []) if (typeof c.id === "string") called.add(c.id);
    if (m.role === "tool" && !called.has(String(m.tool_call_id))) {
      return invalidRequest(
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        `messages.[${i}].role`,
      );
    }
    for (const [j, part] of (Array.isArray(m.content) ? m.content : []).entries()) {
      const image = part.image_url as { url?: unknown } | string | undefined;
      const url = typeof image === "string" ? image : image?.url;
      if (part.type === "image_url" && (typeof url !== "string" || !/^(https?:|data:image\/)/.test(url))) {
        return invalidRequest(
          `Invalid 'messages[${i}].content[${j}].image_url.url': expected an http(s) URL or a base64 data URL.`,
          `messages[${i}].content[${j}].image_url.url`,
          "invalid_value",
        );
      }
    }
  }
  return undefined;
}

/**
 * xAI's 400 for an argument its reasoning models refuse (`stop`; "presencePenalty, frequencyPenalty
 * and stop parameters are not supported by reasoning models", https://docs.x.ai/docs/guides/reasoning),
 * in its shape: {"code", "error"}.
 */
function xaiArgumentError(body: ChatBody): Response | undefined {
  if (body.stop == null || FLAVORS.xai.reasoning(body.model) === "none") return undefined;
  return json({
    code: "Client specified an invalid argument",
    error: "Argument not supported on this model: stop",
  }, 400);
}

/**
 * Perplexity's 400 for turns that do not alternate, in its words and shape ({"error": {"message",
 * "type": "invalid_message", "code": 400}}): system messages only before the others, then user
 * (or tool) and assistant turns in turn, the user's first.
 */
function perplexityTurnsError(messages: ChatMessage[]): Response | undefined {
  const first = messages.findIndex((m) => m.role !== "system" && m.role !== "developer");
  const rest = first < 0 ? [] : messages.slice(first);
  const alternating = rest.every((m, i) =>
    i % 2 === 0 ? m.role === "user" || m.role === "tool" : m.role === "assistant"
  );
  if (alternating) return undefined;
  return json({
    error: {
      message: "After the (optional) system message(s), user and assistant roles should be alternating.",
      type: "invalid_message",
      code: 400,
    },
  }, 400);
}

/** Mistral's 422 for request fields it does not know (pydantic's extra_forbidden), if any. */
function mistralExtraFields(raw: Record<string, unknown>): Response | undefined {
  const extra = Object.keys(raw).filter((k) => !MISTRAL_PARAMS.has(k));
  if (!extra.length) return undefined;
  return json({
    object: "error",
    message: {
      detail: extra.map((k) => ({
        type: "extra_forbidden",
        loc: ["body", k],
        msg: "Extra inputs are not permitted",
        input: raw[k],
      })),
    },
    type: "invalid_request_error",
    param: null,
    code: null,
  }, 422);
}

// ---------------------------------------------------------------------------------------------
// The server

/** Starts the simulated OpenAI server on 127.0.0.1. */
export function startOpenAISimulator(opts: OpenAISimulatorOptions = {}): Promise<Simulator> {
  const faults = new FaultController();
  const stats = new SimulatorStats();
  const flavor: OpenAIFlavorName = opts.flavor ?? "openai";
  const spec = FLAVORS[flavor];
  if (!spec) throw new Error(`unknown simulator flavor ${flavor}`);
  const models = opts.models ?? spec.models;
  const cache = new PromptCache();
  let requestsThisWindow = 0;

  function authorized(req: Request): boolean {
    const m = /^Bearer\s+(\S.*)$/i.exec(req.headers.get("authorization") ?? "");
    return m !== null && m[1].trim().length > 0;
  }

  function unauthorized(req: Request): Response {
    const given = req.headers.get("authorization");
    return apiError(401, {
      message: given
        ? "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys. (simulated: any non-empty Bearer key is accepted)"
        : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. YOUR_KEY), when using HTTP Basic auth. You can obtain an API key from https://platform.openai.com/account/api-keys. (simulated: any non-empty key is accepted)",
      type: "invalid_request_error",
      param: null,
      code: given ? "invalid_api_key" : null,
    });
  }

  /** The error response a fault calls for, or undefined when it acts on the body instead. */
  function faultResponse(fault: Fault, model: string, streaming: boolean): Response | undefined {
    const retry = fault.retryAfterSeconds;
    switch (fault.mode) {
      case "rate_limit":
        return apiError(429, {
          message:
            `Rate limit reached for ${model} in organization org-simulated on requests per min (RPM): ` +
            `Limit ${RATE_LIMIT_REQUESTS}, Used ${RATE_LIMIT_REQUESTS}, Requested 1. Please try again in ${retry}s. ` +
            "Visit https://platform.openai.com/account/rate-limits to learn more. (simulated fault)",
          type: "requests",
          param: null,
          code: "rate_limit_exceeded",
        }, { "retry-after": String(retry), ...rateLimitHeaders(0, `${retry}s`) });
      case "unavailable":
      case "overloaded": // OpenAI has no 529: overload is its 503
        return apiError(503, {
          message: "The engine is currently overloaded, please try again later. (simulated fault)",
          type: "server_error",
          param: null,
          code: null,
        }, retry !== undefined ? { "retry-after": String(retry) } : {});
      case "stream_error": // without a stream, the error can only be the whole response
        return streaming ? undefined : apiError(500, SERVER_ERROR);
      case "server_error":
        return apiError(500, SERVER_ERROR);
      case "bad_request":
        return apiError(400, {
          message: "Invalid 'messages[0].content': the request was refused as malformed. (simulated fault)",
          type: "invalid_request_error",
          param: "messages",
          code: null,
        });
      default:
        return undefined;
    }
  }

  /** A 200 response whose body breaks off (used when the simulator closes mid-wait). */
  const dropped = (ctx: RequestContext) =>
    droppedResponse(ctx, baseHeaders({ "content-type": "application/json" }));

  async function chatCompletions(req: Request, ctx: RequestContext): Promise<Response> {
    if (!authorized(req)) return unauthorized(req);
    let raw: unknown;
    try {
      raw = JSON.parse(await req.text());
    } catch {
      return invalidRequest(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      );
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      return invalidRequest(`Invalid type for body: expected an object, but got ${typeName(raw)} instead.`);
    }
    if (flavor === "mistral") {
      const extra = mistralExtraFields(raw as Record<string, unknown>);
      if (extra) return extra;
    }
    const parsed = Body.safeParse(raw, { reportInput: true });
    if (!parsed.success) return validationError(parsed.error);
    const body = parsed.data;
    if (body.n != null && body.n !== 1) {
      return invalidRequest(
        `Invalid 'n': the simulator supports only n=1, but got ${body.n}.`,
        "n",
        "unsupported_value",
      );
    }
    const misuse = toolAndImageError(body) ??
      (flavor === "perplexity" ? perplexityTurnsError(body.messages) : undefined) ??
      (flavor === "xai" ? xaiArgumentError(body) : undefined);
    if (misuse) return misuse;
    if (body.stream_options != null && !body.stream) {
      return invalidRequest(
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        "stream_options",
        null,
      );
    }

    const fault = faults.take(body.model);
    if (fault) {
      stats.fault(fault.mode);
      const res = faultResponse(fault, body.model, body.stream === true);
      if (res) return res;
    }

    const gen = generate(body, opts, flavor);
    if (spec.cacheBlockTokens) {
      gen.cachedTokens = cache.lookup(body.model, body.messages, spec.cacheBlockTokens);
    }
    const output = outputTokens(gen);
    const pacing = pacingFor(opts, req.headers);
    const id = flavor === "openai"
      ? "chatcmpl-" + randomString(29)
      : flavor === "mistral"
      ? crypto.randomUUID().replaceAll("-", "")
      : crypto.randomUUID();
    const created = Math.floor(Date.now() / 1000);
    const okHeaders = rateLimitHeaders(RATE_LIMIT_REQUESTS - 1 - (requestsThisWindow++ % 100), "120ms");

    if (!body.stream) {
      const completion = flavor === "openai"
        ? {
          id,
          object: "chat.completion",
          created,
          model: body.model,
          choices: [{
            index: 0,
            message: {
              role: "assistant",
              content: gen.content,
              refusal: null,
              annotations: [],
              ...callFields(gen),
            },
            logprobs: null,
            finish_reason: gen.finishReason,
          }],
          usage: usageOf(gen),
          service_tier: "default",
          system_fingerprint: SYSTEM_FINGERPRINT,
        }
        : flavorCompletion(flavor, gen, id, created, body.model);
      if (fault?.mode === "early_end") {
        (completion.choices as { finish_reason: unknown }[])[0].finish_reason = null;
      }
      stats.active++;
      try {
        if (fault?.mode === "stall") {
          await untilAborted(ctx.signal);
        }
        await sleep(pacing.firstTokenLatencyMs + output * pacing.msPerToken, ctx.signal);
      } catch {
        return dropped(ctx); // the simulator is closing: drop the connection
      } finally {
        stats.active--;
      }
      if (fault?.mode === "cut_stream") {
        const text = JSON.stringify(completion);
        return new Response(
          ctx.stream(async function* () {
            yield text.slice(0, Math.floor(text.length / 2));
            throw new CutStream();
          }),
          { headers: baseHeaders({ "content-type": "application/json", ...okHeaders }) },
        );
      }
      stats.tokens(gen.promptTokens, output);
      return json(completion, 200, okHeaders);
    }

    // Streaming: chunk objects exactly as the provider frames them (see fixtures/providers).
    const includeUsage = body.stream_options?.include_usage === true;
    const obfuscate = flavor === "openai" && body.stream_options?.include_obfuscation !== false;
    const rand = seededRandom(gen.seed);
    /** Answer tokens sent so far (Perplexity's running usage totals). */
    let sentPieces = 0;
    const frame = (choices: unknown[], usage?: unknown, object = "chat.completion.chunk") => {
      let chunk: Record<string, unknown>;
      switch (flavor) {
        case "openai":
          chunk = {
            id,
            object,
            created,
            model: body.model,
            service_tier: "default",
            system_fingerprint: SYSTEM_FINGERPRINT,
            choices,
          };
          if (includeUsage) chunk.usage = usage ?? null;
          break;
        case "deepseek":
          chunk = { id, object, created, model: body.model, system_fingerprint: SYSTEM_FINGERPRINT, choices };
          if (includeUsage) chunk.usage = usage ?? null;
          break;
        case "xai":
          chunk = { id, object, created, model: body.model, choices };
          if (usage) chunk.usage = usage;
          chunk.system_fingerprint = SYSTEM_FINGERPRINT;
          break;
        case "mistral":
          chunk = { id, object, created, model: body.model, choices };
          if (usage) chunk.usage = usage;
          break;
        case "perplexity":
          chunk = {
            id,
            model: body.model,
            created,
            usage: flavorUsage(flavor, gen, sentPieces),
            citations: SIMULATED_SOURCES.map((s) => s.url),
            search_results: SIMULATED_SOURCES,
            object,
            choices,
          };
          break;
      }
      if (obfuscate) chunk.obfuscation = randomString(1 + Math.floor(rand() * 15), rand);
      return `data: ${JSON.stringify(chunk)}\n\n`;
    };
    const choice = (delta: Record<string, unknown>, finish: string | null = null) => {
      switch (flavor) {
        case "openai":
        case "deepseek":
          return { index: 0, delta, logprobs: null, finish_reason: finish };
        case "mistral":
          return { index: 0, delta, finish_reason: finish };
        case "xai":
        case "perplexity": // no finish_reason key until the end
          return finish ? { index: 0, delta, finish_reason: finish } : { index: 0, delta };
      }
    };
    const reasoner = gen.reasoningVisible;
    // The first delta, before any token (xAI and Perplexity send the role with the first token).
    // A tool call opens with its header (id, type, name, empty arguments) and the role, as OpenAI does.
    const call = gen.toolCall;
    const opening: Record<string, unknown> | undefined = call
      ? {
        role: "assistant",
        content: null,
        tool_calls: [{
          index: 0,
          id: call.id,
          type: "function",
          function: { name: call.name, arguments: "" },
        }],
        ...(flavor === "openai" ? { refusal: null } : {}),
      }
      : flavor === "openai"
      ? { role: "assistant", content: "", refusal: null }
      : flavor === "deepseek"
      ? reasoner
        ? { role: "assistant", content: null, reasoning_content: "" }
        : { role: "assistant", content: "" }
      : flavor === "mistral"
      ? { role: "assistant", content: "" }
      : undefined;
    const tokenDelta = (
      kind: "reasoning" | "text" | "tool",
      text: string,
      first: boolean,
    ): Record<string, unknown> => {
      if (kind === "tool") return { tool_calls: [{ index: 0, function: { arguments: text } }] };
      const role = first && !opening ? { role: "assistant" } : {};
      if (kind === "reasoning") {
        if (flavor === "deepseek") return { content: null, reasoning_content: text };
        if (flavor === "mistral") {
          return { content: [{ type: "thinking", thinking: [{ type: "text", text }] }] };
        }
        return { reasoning_content: text, ...role };
      }
      if (flavor === "deepseek" && reasoner) return { content: text, reasoning_content: null };
      if (flavor === "perplexity") return { role: "assistant", content: text };
      return { content: text, ...role };
    };
    // Streamed tokens in order: the visible reasoning, then the answer.
    const tokens: { kind: "reasoning" | "text" | "tool"; text: string }[] = [
      ...(gen.reasoningVisible
        ? gen.reasoningPieces.map((text) => ({ kind: "reasoning" as const, text }))
        : []),
      ...gen.pieces.map((text) => ({ kind: "text" as const, text })),
      ...(call?.pieces ?? []).map((text) => ({ kind: "tool" as const, text })),
    ];
    const hiddenReasoning = gen.reasoningVisible ? 0 : gen.reasoningPieces.length;
    // Several tokens per chunk when pacing is finer than 10 ms, so timers stay coarse.
    const perChunk = pacing.msPerToken > 0 && pacing.msPerToken < 10 ? Math.ceil(10 / pacing.msPerToken) : 1;
    const breakAt = fault ? Math.min(fault.afterTokens, tokens.length) : tokens.length;
    let streamErrored = false;
    let endedEarly = false;

    async function* frames(signal: AbortSignal): AsyncGenerator<string> {
      // Hidden reasoning takes its time before the first token, as it does for real.
      await sleep(pacing.firstTokenLatencyMs + hiddenReasoning * pacing.msPerToken, signal);
      if (opening) yield frame([choice(opening)]);
      let sent = 0;
      while (sent < breakAt) {
        // One chunk holds tokens of one kind only.
        let take = 1;
        while (take < perChunk && sent + take < breakAt && tokens[sent + take].kind === tokens[sent].kind) {
          take++;
        }
        if (sent > 0) await sleep(take * pacing.msPerToken, signal);
        const group = tokens.slice(sent, sent + take);
        if (group[0].kind === "text") sentPieces += take;
        yield frame([choice(tokenDelta(group[0].kind, group.map((t) => t.text).join(""), sent === 0))]);
        sent += take;
      }
      if (fault?.mode === "cut_stream") throw new CutStream();
      if (fault?.mode === "stall") {
        stats.stream("stalled");
        await untilAborted(signal);
      }
      if (fault?.mode === "stream_error") {
        streamErrored = true;
        yield `data: ${JSON.stringify({ error: SERVER_ERROR })}\n\n`;
        return;
      }
      if (fault?.mode === "early_end") { // closed in good order: no finish, no usage, no [DONE]
        endedEarly = true;
        return;
      }
      const usage = flavorUsage(flavor, gen);
      switch (flavor) {
        case "openai":
          yield frame([choice({}, gen.finishReason)]);
          if (includeUsage) yield frame([], usage);
          break;
        case "xai":
          yield frame([choice({}, gen.finishReason)]);
          if (includeUsage) yield frame([], usage);
          break;
        case "deepseek": // usage on the finish chunk
          yield frame(
            [choice(reasoner ? { content: "", reasoning_content: null } : { content: "" }, gen.finishReason)],
            includeUsage ? usage : undefined,
          );
          break;
        case "mistral": // usage on the finish chunk, always
          yield frame([choice({ content: "" }, gen.finishReason)], usage);
          break;
        case "perplexity":
          yield frame(
            [choice({ role: "assistant", content: "" }, gen.finishReason)],
            usage,
            "chat.completion.done",
          );
          break;
      }
      if (spec.doneMarker) yield "data: [DONE]\n\n";
    }

    const stream = ctx.stream(
      frames,
      stats.streamStarted(() => streamErrored, () => [gen.promptTokens, output], () => endedEarly),
    );
    return new Response(stream, {
      headers: baseHeaders({
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        ...okHeaders,
      }),
    });
  }

  function modelObject(id: string) {
    return { id, object: "model", created: MODEL_CREATED, owned_by: "nexus-simulator" };
  }

  async function route(req: Request, ctx: RequestContext, path: string): Promise<Response> {
    if (path === "/v1/chat/completions") {
      if (req.method !== "POST") {
        return invalidRequest(`Invalid method for URL (${req.method} ${path})`);
      }
      return await chatCompletions(req, ctx);
    }
    if (path === "/v1/models" || path.startsWith("/v1/models/")) {
      if (req.method !== "GET") return invalidRequest(`Invalid method for URL (${req.method} ${path})`);
      if (!authorized(req)) return unauthorized(req);
      if (path === "/v1/models") return json({ object: "list", data: models.map(modelObject) });
      return json(modelObject(decodeURIComponent(path.slice("/v1/models/".length))));
    }
    return apiError(404, {
      message: `Invalid URL (${req.method} ${path})`,
      type: "invalid_request_error",
      param: null,
      code: null,
    });
  }

  return serveProvider({
    name: "openai",
    opts,
    basePath: "/v1",
    faults,
    stats,
    route: (req, ctx, url) => route(req, ctx, url.pathname),
    serverError: (message) => apiError(500, { message, type: "server_error", param: null, code: null }),
    decorate: (res) => {
      if (flavor !== "openai") res.headers.set("x-simulated-provider", flavor);
    },
  });
}

if (import.meta.main) {
  const flavor = (Deno.env.get("OPENAI_SIMULATOR_FLAVOR") || "openai") as OpenAIFlavorName;
  if (!(flavor in FLAVORS)) throw new Error(`OPENAI_SIMULATOR_FLAVOR: unknown flavor ${flavor}`);
  await runSimulatorCli(flavor, (opts) => startOpenAISimulator({ ...opts, flavor }));
}
