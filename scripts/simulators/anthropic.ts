// Simulated Anthropic provider: a loopback server speaking Anthropic's Messages API
// (https://docs.anthropic.com/en/api/messages), so the product runs with no API key.
//
//   POST /v1/messages                streaming (named SSE events, as in fixtures/providers/anthropic)
//                                    and not; usage; max_tokens; stop_sequences (empty or
//                                    whitespace-only ones are a 400, as Anthropic answers them);
//                                    extended thinking; prompt caching (cache_control)
//   POST /v1/messages/count_tokens   {"input_tokens": n}
//   GET  /v1/models, /v1/models/{id} Anthropic's list shape
//   /__simulator/…                   fault plan and counters (see control.ts)
//
// Requests need a key (`x-api-key`, or `Authorization: Bearer` as the SDK sends it; any non-empty
// value) and an `anthropic-version` header (any version); errors
// are Anthropic's `{"type":"error","error":{"type","message"},"request_id"}` with a `request-id`
// header. Replies are deterministic (reply.ts) and token counts follow tokens.ts:
//
//   input  = REPLY_PRIMING_TOKENS + tokens(JSON of tools) + the system prompt counted as one
//            message with role "system" + every message (TOKENS_PER_MESSAGE + role + its text),
//            i.e. estimateMessageTokens() of the same conversation, as the OpenAI simulator counts.
//   output = thinking tokens + text tokens (one token per streamed piece).
//
// Prompt caching: everything up to the last block marked `cache_control` (in the order tools,
// system, messages) is the cached prefix. The first request with a prefix writes it
// (cache_creation_input_tokens), later ones read it (cache_read_input_tokens); input_tokens is
// the rest, as Anthropic reports it. No minimum length and no expiry (it lasts as long as the
// simulator), so tests can see both numbers with short prompts.
//
// Thinking: with `thinking: {"type":"enabled","budget_tokens":n}` a thinking block (at most n
// tokens) comes first, then the text (also with {"type":"adaptive"}, without the budget);
// max_tokens bounds both together.
//
// Standalone: deno run -A scripts/simulators/anthropic.ts --port 1234 --tps 80 --first-token-ms 200

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
import { countTokens, IMAGE_TOKENS, REPLY_PRIMING_TOKENS, tokenize, TOKENS_PER_MESSAGE } from "./tokens.ts";
import { planToolCall, type SimCall, toolResultReply } from "./tools.ts";

export type { Simulator, SimulatorOptions } from "./http.ts";

export interface AnthropicSimulatorOptions extends SimulatorOptions {
  /** Model ids listed by GET /v1/models (any id is accepted for messages). */
  models?: string[];
}

export const DEFAULT_ANTHROPIC_MODELS = [
  "claude-opus-4-1-20250805",
  "claude-opus-4-20250514",
  "claude-sonnet-4-5-20250929",
  "claude-sonnet-4-20250514",
  "claude-3-7-sonnet-20250219",
  "claude-haiku-4-5-20251001",
  "claude-3-5-haiku-20241022",
];

const MODEL_CREATED_AT = "2025-01-01T00:00:00Z";
const RATE_LIMIT_REQUESTS = 4_000;
const RATE_LIMIT_INPUT_TOKENS = 2_000_000;
const RATE_LIMIT_OUTPUT_TOKENS = 400_000;
const MIN_THINKING_BUDGET = 1024;
const OVERLOADED = { type: "overloaded_error", message: "Overloaded" };
const API_ERROR = { type: "api_error", message: "Internal server error (simulated fault)" };

// ---------------------------------------------------------------------------------------------
// Request body

const CacheControl = z.looseObject({ type: z.literal("ephemeral"), ttl: z.enum(["5m", "1h"]).optional() });
const Block = z.looseObject({ type: z.string(), cache_control: CacheControl.nullish() });
const TextBlock = z.looseObject({
  type: z.literal("text"),
  text: z.string(),
  cache_control: CacheControl.nullish(),
});
const Message = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content: z.union([z.string(), z.array(Block)]),
});
const Body = z.strictObject({
  model: z.string().min(1),
  messages: z.array(Message),
  max_tokens: z.int().min(1),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  stream: z.boolean().optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.int().min(0).optional(),
  thinking: z.looseObject({
    type: z.enum(["enabled", "adaptive", "disabled"]),
    budget_tokens: z.int().optional(),
  }).optional(),
  tools: z.array(z.looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    input_schema: z.looseObject({ type: z.literal("object") }),
    cache_control: CacheControl.nullish(),
  })).optional(),
  tool_choice: z.looseObject({ type: z.string() }).optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
  service_tier: z.enum(["auto", "standard_only"]).optional(),
});
type MessagesBody = z.output<typeof Body>;
type Block = z.output<typeof Block>;

/** count_tokens takes the prompt part of a Messages body. */
const CountBody = Body.omit({
  max_tokens: true,
  stream: true,
  stop_sequences: true,
  temperature: true,
  top_p: true,
  top_k: true,
  metadata: true,
  service_tier: true,
});

// ---------------------------------------------------------------------------------------------
// Responses in Anthropic's shapes

function randomId(prefix: string): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789";
  let s = prefix;
  for (let i = 0; i < 22; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function baseHeaders(requestId: string, extra: Record<string, string> = {}): Headers {
  return new Headers({ "request-id": requestId, "x-simulated-provider": "anthropic", ...extra });
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const h = baseHeaders(randomId("req_01"), headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** An error in Anthropic's shape; the body's request_id matches the request-id header. */
function apiError(
  status: number,
  error: { type: string; message: string },
  headers: Record<string, string> = {},
): Response {
  const requestId = randomId("req_01");
  const h = baseHeaders(requestId, { ...headers, "content-type": "application/json" });
  return new Response(JSON.stringify({ type: "error", error, request_id: requestId }), {
    status,
    headers: h,
  });
}

function invalidRequest(message: string): Response {
  return apiError(400, { type: "invalid_request_error", message });
}

function rateLimitHeaders(remainingRequests: number, resetSeconds: number): Record<string, string> {
  const reset = new Date(Date.now() + resetSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  const tokens = (name: string, limit: number) => ({
    [`anthropic-ratelimit-${name}-limit`]: String(limit),
    [`anthropic-ratelimit-${name}-remaining`]: String(remainingRequests > 0 ? limit - 1_000 : 0),
    [`anthropic-ratelimit-${name}-reset`]: reset,
  });
  return {
    "anthropic-ratelimit-requests-limit": String(RATE_LIMIT_REQUESTS),
    "anthropic-ratelimit-requests-remaining": String(remainingRequests),
    "anthropic-ratelimit-requests-reset": reset,
    ...tokens("input-tokens", RATE_LIMIT_INPUT_TOKENS),
    ...tokens("output-tokens", RATE_LIMIT_OUTPUT_TOKENS),
    ...tokens("tokens", RATE_LIMIT_INPUT_TOKENS + RATE_LIMIT_OUTPUT_TOKENS),
  };
}

const INTEGER_FIELDS = new Set(["max_tokens", "top_k", "budget_tokens"]);

/** The first validation issue as Anthropic words it (pydantic style: "max_tokens: Field required"). */
function validationError(error: z.ZodError): Response {
  const issue = error.issues[0];
  const path = issue.path.map(String).join(".");
  const at = (p: string, message: string) => invalidRequest(p ? `${p}: ${message}` : message);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type": {
      if (input === undefined) return at(path, "Field required");
      const names: Record<string, string> = {
        int: "a valid integer",
        number: "a valid number",
        string: "a valid string",
        boolean: "a valid boolean",
        array: "a valid list",
        object: "a valid dictionary",
      };
      // zod reports a non-number given to z.int() as expecting a number.
      const expected = INTEGER_FIELDS.has(String(issue.path.at(-1))) ? "int" : issue.expected;
      return at(path, `Input should be ${names[expected] ?? `a valid ${expected}`}`);
    }
    case "invalid_union":
      return at(path, "Input should be a valid string or a valid list");
    case "too_small":
      if (issue.origin === "string") {
        return at(path, `String should have at least ${issue.minimum} character`);
      }
      return at(path, `Input should be greater than or equal to ${issue.minimum}`);
    case "too_big":
      return at(path, `Input should be less than or equal to ${issue.maximum}`);
    case "invalid_value":
      return at(path, `Input should be ${issue.values.map((v) => `'${String(v)}'`).join(" or ")}`);
    case "unrecognized_keys":
      return at([path, issue.keys[0]].filter(Boolean).join("."), "Extra inputs are not permitted");
    default:
      return at(path, issue.message);
  }
}

/**
 * Tool use as Anthropic checks it: each tool_use must be answered by a tool_result in the very
 * next (user) turn, a tool_result must answer a tool_use of the turn before, and image blocks need
 * a base64 or url source.
 */
function toolPairingError(body: MessagesBody): Response | undefined {
  const blocks = (m: MessagesBody["messages"][number]) => (typeof m.content === "string" ? [] : m.content);
  for (const [i, m] of body.messages.entries()) {
    for (const b of blocks(m)) {
      const source = b.source as
        | { type?: string; data?: unknown; media_type?: unknown; url?: unknown }
        | undefined;
      if (
        b.type === "image" &&
        !(source?.type === "base64" && typeof source.data === "string" &&
          typeof source.media_type === "string") &&
        !(source?.type === "url" && typeof source.url === "string")
      ) {
        return invalidRequest(`messages.${i}.content: image source must be base64 (media_type, data) or url`);
      }
    }
    const uses = blocks(m).filter((b) => b.type === "tool_use").map((b) => String(b.id));
    const next = body.messages[i + 1];
    if (m.role === "assistant" && uses.length && next) {
      const answered = new Set(
        blocks(next).filter((b) => b.type === "tool_result").map((b) => String(b.tool_use_id)),
      );
      const missing = uses.find((id) => !answered.has(id));
      if (next.role !== "user" || missing) {
        return invalidRequest(
          `messages.${
            i + 1
          }: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
    }
    const previous = body.messages[i - 1];
    const before = new Set(
      previous ? blocks(previous).filter((b) => b.type === "tool_use").map((b) => String(b.id)) : [],
    );
    for (const b of blocks(m)) {
      if (b.type === "tool_result" && !before.has(String(b.tool_use_id))) {
        return invalidRequest(
          `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
        );
      }
    }
  }
  return undefined;
}

/** Checks zod cannot express, in Anthropic's words; undefined when the body is fine. */
function semanticError(body: MessagesBody): Response | undefined {
  if (body.messages.length === 0) return invalidRequest("messages: at least one message is required");
  for (const [i, m] of body.messages.entries()) {
    const last = i === body.messages.length - 1;
    const empty = typeof m.content === "string" ? !m.content.trim() : m.content.length === 0;
    if (empty && !(last && m.role === "assistant")) {
      return invalidRequest(
        `messages.${i}: all messages must have non-empty content except for the optional final assistant message`,
      );
    }
    if (Array.isArray(m.content)) {
      for (const [j, b] of m.content.entries()) {
        if (b.type === "text" && typeof b.text !== "string") {
          return invalidRequest(`messages.${i}.content.${j}.text: Field required`);
        }
        if (b.type === "text" && !String(b.text).trim()) {
          return invalidRequest("messages: text content blocks must contain non-whitespace text");
        }
      }
    }
  }
  for (const stop of body.stop_sequences ?? []) {
    if (!stop) return invalidRequest("stop_sequences: each stop sequence must be non-empty");
    if (!stop.trim()) return invalidRequest("stop_sequences: each stop sequence must contain non-whitespace");
  }
  const pairing = toolPairingError(body);
  if (pairing) return pairing;
  const thinking = body.thinking;
  if (thinking?.type === "enabled") {
    if (thinking.budget_tokens === undefined) {
      return invalidRequest("thinking.enabled.budget_tokens: Field required");
    }
    if (thinking.budget_tokens < MIN_THINKING_BUDGET) {
      return invalidRequest(
        `thinking.enabled.budget_tokens: Input should be greater than or equal to ${MIN_THINKING_BUDGET}`,
      );
    }
    if (body.max_tokens <= thinking.budget_tokens) {
      return invalidRequest("`max_tokens` must be greater than `thinking.budget_tokens`.");
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Token accounting and prompt caching

/** Tokens of one content block (an image or document counts as IMAGE_TOKENS). */
function blockTokens(b: Block): number {
  switch (b.type) {
    case "text":
      return countTokens(String(b.text ?? ""));
    case "image":
    case "document":
      return IMAGE_TOKENS;
    case "tool_use":
      return countTokens(String(b.name ?? "")) + countTokens(JSON.stringify(b.input ?? {}));
    case "tool_result":
      return countTokens(typeof b.content === "string" ? b.content : JSON.stringify(b.content ?? ""));
    case "thinking":
      return countTokens(String(b.thinking ?? ""));
    default:
      return countTokens(JSON.stringify(b));
  }
}

interface PromptPart {
  tokens: number;
  /** Marked with cache_control: a cache breakpoint ends after this part. */
  breakpoint: boolean;
  /** What the part is, for the cache key. */
  key: unknown;
}

/** The prompt as ordered parts (tools, system, messages, reply priming), see the header. */
function promptParts(body: Pick<MessagesBody, "tools" | "system" | "messages">): PromptPart[] {
  const parts: PromptPart[] = [];
  if (body.tools?.length) {
    parts.push({
      tokens: countTokens(JSON.stringify(body.tools)),
      breakpoint: body.tools.some((t) => t.cache_control),
      key: body.tools,
    });
  }
  const turn = (role: string, blocks: Block[]) => {
    parts.push({ tokens: TOKENS_PER_MESSAGE + countTokens(role), breakpoint: false, key: role });
    for (const b of blocks) {
      parts.push({
        tokens: blockTokens(b),
        breakpoint: !!b.cache_control,
        key: { ...b, cache_control: null },
      });
    }
  };
  if (body.system !== undefined) {
    turn("system", typeof body.system === "string" ? [{ type: "text", text: body.system }] : body.system);
  }
  for (const m of body.messages) {
    turn(m.role, typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content);
  }
  parts.push({ tokens: REPLY_PRIMING_TOKENS, breakpoint: false, key: "priming" });
  return parts;
}

interface InputUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** Input usage of a request, writing the prompt cache (a set of prefix keys) as a side effect. */
function inputUsage(body: MessagesBody, cache: Set<string>): InputUsage {
  const parts = promptParts(body);
  const total = parts.reduce((n, p) => n + p.tokens, 0);
  const last = parts.findLastIndex((p) => p.breakpoint);
  let read = 0;
  let written = 0;
  if (last >= 0) {
    const prefix = parts.slice(0, last + 1);
    const tokens = prefix.reduce((n, p) => n + p.tokens, 0);
    const text = JSON.stringify([body.model, prefix.map((p) => p.key)]);
    const key = `${fnv1a(text).toString(16)}:${text.length}`;
    if (cache.has(key)) read = tokens;
    else {
      written = tokens;
      if (cache.size >= 10_000) cache.clear(); // bounded memory for a long-running simulator
      cache.add(key);
    }
  }
  const oneHour = written > 0 && [
    ...(body.tools ?? []),
    ...(Array.isArray(body.system) ? body.system : []),
    ...body.messages.flatMap((m) => Array.isArray(m.content) ? m.content : []),
  ].some((b) => b.cache_control?.ttl === "1h");
  return {
    input_tokens: total - read - written,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: read,
    cache_creation: {
      ephemeral_5m_input_tokens: oneHour ? 0 : written,
      ephemeral_1h_input_tokens: oneHour ? written : 0,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Generation

type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";

interface Generation {
  /** The tool the model calls instead of answering in text (see tools.ts). */
  toolUse?: { id: string; name: string; json: string; pieces: string[] };
  thinking: string[];
  text: string[];
  stopReason: StopReason;
  stopSequence: string | null;
  input: InputUsage;
  /** Every input token (input_tokens + cache reads + cache writes). */
  promptTokens: number;
  outputTokens: number;
  signature: string;
}

function textOf(content: string | Block[]): string {
  if (typeof content === "string") return content;
  return content.filter((b) => b.type === "text").map((b) => String(b.text)).join("\n");
}

/** The tool results the last user turn carries (their text), if any. */
function toolResults(body: MessagesBody): string[] {
  const last = body.messages.at(-1);
  if (last?.role !== "user" || typeof last.content === "string") return [];
  return last.content.filter((b) => b.type === "tool_result").map((b) =>
    typeof b.content === "string"
      ? b.content
      : Array.isArray(b.content)
      ? b.content.map((c: { text?: string }) => c.text ?? "").join("")
      : ""
  );
}

/** The call the model makes, from tools and tool_choice ({type: auto|any|tool|none}). */
function plannedCall(body: MessagesBody, afterToolResult: boolean): SimCall | null {
  const tools = (body.tools ?? []).map((t) => ({ name: t.name, parameters: t.input_schema }));
  const c = body.tool_choice;
  const choice = c?.type === "tool"
    ? { name: String(c.name) }
    : c?.type === "any"
    ? "required"
    : c?.type === "none"
    ? "none"
    : "auto";
  return planToolCall(tools, choice, afterToolResult);
}

function generate(body: MessagesBody, opts: AnthropicSimulatorOptions, cache: Set<string>): Generation {
  const lastUser = body.messages.findLast((m) => m.role === "user");
  const seed = JSON.stringify({ system: body.system ?? null, messages: body.messages });
  const results = toolResults(body);
  const call = plannedCall(body, results.length > 0);
  let text = call ? "" : results.length ? toolResultReply(body.model, results) : simulatedReply({
    model: body.model,
    lastUserText: lastUser ? textOf(lastUser.content) : undefined,
    seed,
    maxTokens: opts.maxReplyTokens,
  });
  // stop_sequences: the reply ends just before the earliest one, which is reported.
  let stopSequence: string | null = null;
  let cut = text.length;
  for (const s of body.stop_sequences ?? []) {
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) [cut, stopSequence] = [i, s];
  }
  text = text.slice(0, cut);

  let thinking: string[] = [];
  if (body.thinking && body.thinking.type !== "disabled" && !call) {
    const thought = `The user wrote ${lastUser ? "a message" : "nothing"}; this is the NEXUS AI provider ` +
      "simulator, so the answer is its fixed, deterministic reply and no model is thinking here.";
    thinking = tokenize(thought).slice(0, body.thinking.budget_tokens ?? Infinity);
  }
  // max_tokens bounds thinking and text together.
  let stopReason: StopReason = call ? "tool_use" : stopSequence ? "stop_sequence" : "end_turn";
  let pieces = tokenize(text);
  if (thinking.length >= body.max_tokens) {
    thinking = thinking.slice(0, body.max_tokens);
    pieces = [];
    stopReason = "max_tokens";
  } else if (thinking.length + pieces.length > body.max_tokens) {
    pieces = pieces.slice(0, body.max_tokens - thinking.length);
    stopReason = "max_tokens";
    stopSequence = null;
  }
  const input = inputUsage(body, cache);
  const rand = seededRandom(fnv1a(seed));
  const signature = btoa(String.fromCharCode(...Array.from({ length: 48 }, () => Math.floor(rand() * 256))));
  const toolUse = call
    ? { id: randomId("toolu_01"), name: call.name, json: call.arguments, pieces: tokenize(call.arguments) }
    : undefined;
  return {
    ...(toolUse ? { toolUse } : {}),
    thinking,
    text: pieces,
    stopReason,
    stopSequence,
    input,
    promptTokens: input.input_tokens + input.cache_creation_input_tokens + input.cache_read_input_tokens,
    outputTokens: thinking.length + pieces.length +
      (toolUse ? countTokens(toolUse.name) + toolUse.pieces.length : 0),
    signature,
  };
}

function contentOf(g: Generation): unknown[] {
  const content: unknown[] = [];
  if (g.thinking.length) {
    content.push({ type: "thinking", thinking: g.thinking.join(""), signature: g.signature });
  }
  if (g.text.length) content.push({ type: "text", text: g.text.join("") });
  if (g.toolUse) {
    const { id, name, json } = g.toolUse;
    content.push({ type: "tool_use", id, name, input: JSON.parse(json) });
  }
  return content;
}

// ---------------------------------------------------------------------------------------------
// The server

/** Starts the simulated Anthropic server on 127.0.0.1; its url is the SDK's baseURL (no /v1). */
export function startAnthropicSimulator(opts: AnthropicSimulatorOptions = {}): Promise<Simulator> {
  const faults = new FaultController();
  const stats = new SimulatorStats();
  const models = opts.models ?? DEFAULT_ANTHROPIC_MODELS;
  const promptCache = new Set<string>();
  let requestsThisWindow = 0;

  /**
   * Authentication and version checks, as the API does them before reading the body. The key
   * comes as `x-api-key` (raw HTTP, our adapter) or `Authorization: Bearer` (what the official
   * SDK sends since API version 2026-10-21); any non-empty key is accepted.
   */
  function checkHeaders(req: Request): Response | undefined {
    const bearer = /^Bearer\s+(.*)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
    const key = req.headers.get("x-api-key") ?? bearer;
    if (key === undefined) {
      return apiError(401, { type: "authentication_error", message: "x-api-key header is required" });
    }
    if (!key.trim()) {
      return apiError(401, {
        type: "authentication_error",
        message: "invalid x-api-key (simulated: any non-empty key is accepted)",
      });
    }
    if (!req.headers.get("anthropic-version")) return invalidRequest("anthropic-version: header is required");
    return undefined;
  }

  async function readBody(req: Request): Promise<unknown | Response> {
    try {
      const raw = JSON.parse(await req.text());
      if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) return raw;
      return invalidRequest("Input should be a valid dictionary");
    } catch {
      return invalidRequest("There was an error parsing the body of your request: it is not valid JSON.");
    }
  }

  /** The error response a fault calls for, or undefined when it acts on the body instead. */
  function faultResponse(fault: Fault, streaming: boolean): Response | undefined {
    const retry = fault.retryAfterSeconds;
    const retryHeader: Record<string, string> = retry !== undefined ? { "retry-after": String(retry) } : {};
    switch (fault.mode) {
      case "rate_limit":
        return apiError(429, {
          type: "rate_limit_error",
          message: `This request would exceed your organization's rate limit of ${RATE_LIMIT_REQUESTS} ` +
            "requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. " +
            "(simulated fault)",
        }, { ...retryHeader, ...rateLimitHeaders(0, retry ?? 1) });
      case "overloaded":
        return apiError(529, OVERLOADED, retryHeader);
      case "unavailable":
        return apiError(
          503,
          { type: "api_error", message: "Service Unavailable (simulated fault)" },
          retryHeader,
        );
      case "stream_error": // without a stream, the error can only be the whole response
        return streaming ? undefined : apiError(500, API_ERROR);
      case "server_error":
        return apiError(500, API_ERROR);
      case "bad_request":
        return apiError(400, {
          type: "invalid_request_error",
          message: "messages.0.content: the request was refused as malformed (simulated fault)",
        });
      default:
        return undefined;
    }
  }

  /** A 200 response whose body breaks off (used when the simulator closes mid-wait). */
  const dropped = (ctx: RequestContext) =>
    droppedResponse(ctx, baseHeaders(randomId("req_01"), { "content-type": "application/json" }));

  async function messages(req: Request, ctx: RequestContext): Promise<Response> {
    const refused = checkHeaders(req);
    if (refused) return refused;
    const raw = await readBody(req);
    if (raw instanceof Response) return raw;
    const parsed = Body.safeParse(raw, { reportInput: true });
    if (!parsed.success) return validationError(parsed.error);
    const body = parsed.data;
    const invalid = semanticError(body);
    if (invalid) return invalid;

    const streaming = body.stream === true;
    const fault = faults.take(body.model);
    if (fault) {
      stats.fault(fault.mode);
      const res = faultResponse(fault, streaming);
      if (res) return res;
    }

    const gen = generate(body, opts, promptCache);
    const pacing = pacingFor(opts, req.headers);
    const id = randomId("msg_01");
    const requestId = randomId("req_01");
    const okHeaders = rateLimitHeaders(RATE_LIMIT_REQUESTS - 1 - (requestsThisWindow++ % 100), 1);
    const usage = { ...gen.input, output_tokens: gen.outputTokens, service_tier: "standard" };

    if (!streaming) {
      const message = {
        model: body.model,
        id,
        type: "message",
        role: "assistant",
        content: contentOf(gen),
        stop_reason: fault?.mode === "early_end" ? null : gen.stopReason,
        stop_sequence: gen.stopSequence,
        usage,
      };
      stats.active++;
      try {
        if (fault?.mode === "stall") await untilAborted(ctx.signal);
        await sleep(pacing.firstTokenLatencyMs + gen.outputTokens * pacing.msPerToken, ctx.signal);
      } catch {
        return dropped(ctx); // the simulator is closing: drop the connection
      } finally {
        stats.active--;
      }
      const headers = baseHeaders(requestId, { "content-type": "application/json", ...okHeaders });
      if (fault?.mode === "cut_stream") {
        const text = JSON.stringify(message);
        return new Response(
          ctx.stream(async function* () {
            yield text.slice(0, Math.floor(text.length / 2));
            throw new CutStream();
          }),
          { headers },
        );
      }
      stats.tokens(gen.promptTokens, gen.outputTokens);
      return new Response(JSON.stringify(message), { headers });
    }

    // Streaming: the event sequence and shapes of the recorded fixtures (fixtures/providers/anthropic).
    const event = (data: { type: string; [key: string]: unknown }) =>
      `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
    // Several tokens per delta when pacing is finer than 10 ms, so timers stay coarse.
    const perChunk = pacing.msPerToken > 0 && pacing.msPerToken < 10 ? Math.ceil(10 / pacing.msPerToken) : 1;
    const breakAt = fault ? fault.afterTokens : Infinity;
    let streamErrored = false;
    let endedEarly = false;

    async function* faultTail(signal: AbortSignal): AsyncGenerator<string> {
      if (fault?.mode === "cut_stream") throw new CutStream();
      if (fault?.mode === "stall") {
        stats.stream("stalled");
        await untilAborted(signal);
      }
      if (fault?.mode === "stream_error") {
        streamErrored = true;
        yield event({ type: "error", error: OVERLOADED });
      }
      // early_end: the body ends here, in good order, without message_delta or message_stop.
      if (fault?.mode === "early_end") endedEarly = true;
    }

    async function* frames(signal: AbortSignal): AsyncGenerator<string> {
      await sleep(pacing.firstTokenLatencyMs, signal);
      yield event({
        type: "message_start",
        message: {
          model: body.model,
          id,
          type: "message",
          role: "assistant",
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // output_tokens here is a placeholder, as Anthropic sends it; the count is in message_delta.
          usage: { ...gen.input, output_tokens: 1, service_tier: "standard" },
        },
      });
      const blocks: { start: object; pieces: string[]; delta: (s: string) => object; end?: object }[] = [];
      if (gen.thinking.length) {
        blocks.push({
          start: { type: "thinking", thinking: "", signature: "" },
          pieces: gen.thinking,
          delta: (thinking) => ({ type: "thinking_delta", thinking }),
          end: { type: "signature_delta", signature: gen.signature },
        });
      }
      if (gen.text.length) {
        blocks.push({
          start: { type: "text", text: "" },
          pieces: gen.text,
          delta: (text) => ({ type: "text_delta", text }),
        });
      }
      if (gen.toolUse) {
        // As recorded: the block starts with input {}, then an empty partial_json, then the JSON.
        const { id, name, pieces } = gen.toolUse;
        blocks.push({
          start: { type: "tool_use", id, name, input: {} },
          pieces: ["", ...pieces],
          delta: (partial_json) => ({ type: "input_json_delta", partial_json }),
        });
      }
      let sent = 0;
      for (const [index, block] of blocks.entries()) {
        yield event({ type: "content_block_start", index, content_block: block.start });
        if (index === 0) yield event({ type: "ping" });
        for (let i = 0; i < block.pieces.length;) {
          if (sent >= breakAt) return yield* faultTail(signal);
          const take = Math.min(perChunk, block.pieces.length - i, breakAt - sent);
          if (sent > 0) await sleep(take * pacing.msPerToken, signal);
          const text = block.pieces.slice(i, i + take).join("");
          yield event({ type: "content_block_delta", index, delta: block.delta(text) });
          i += take;
          sent += take;
        }
        if (block.end) yield event({ type: "content_block_delta", index, delta: block.end });
        yield event({ type: "content_block_stop", index });
      }
      if (fault) return yield* faultTail(signal);
      yield event({
        type: "message_delta",
        delta: { stop_reason: gen.stopReason, stop_sequence: gen.stopSequence },
        usage: {
          input_tokens: gen.input.input_tokens,
          cache_creation_input_tokens: gen.input.cache_creation_input_tokens,
          cache_read_input_tokens: gen.input.cache_read_input_tokens,
          output_tokens: gen.outputTokens,
        },
      });
      yield event({ type: "message_stop" });
    }

    const stream = ctx.stream(
      frames,
      stats.streamStarted(() => streamErrored, () => [gen.promptTokens, gen.outputTokens], () => endedEarly),
    );
    return new Response(stream, {
      headers: baseHeaders(requestId, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        ...okHeaders,
      }),
    });
  }

  async function countTokensRoute(req: Request): Promise<Response> {
    const refused = checkHeaders(req);
    if (refused) return refused;
    const raw = await readBody(req);
    if (raw instanceof Response) return raw;
    const parsed = CountBody.safeParse(raw, { reportInput: true });
    if (!parsed.success) return validationError(parsed.error);
    return json({ input_tokens: promptParts(parsed.data).reduce((n, p) => n + p.tokens, 0) });
  }

  function modelObject(id: string) {
    return { type: "model", id, display_name: id, created_at: MODEL_CREATED_AT };
  }

  async function route(req: Request, ctx: RequestContext, path: string): Promise<Response> {
    const post = (handler: () => Promise<Response>) =>
      req.method === "POST"
        ? handler()
        : Promise.resolve(apiError(405, { type: "invalid_request_error", message: "Method Not Allowed" }));
    if (path === "/v1/messages") return await post(() => messages(req, ctx));
    if (path === "/v1/messages/count_tokens") return await post(() => countTokensRoute(req));
    if (path === "/v1/models" || path.startsWith("/v1/models/")) {
      if (req.method !== "GET") {
        return apiError(405, { type: "invalid_request_error", message: "Method Not Allowed" });
      }
      const refused = checkHeaders(req);
      if (refused) return refused;
      if (path === "/v1/models") {
        return json({
          data: models.map(modelObject),
          has_more: false,
          first_id: models[0] ?? null,
          last_id: models.at(-1) ?? null,
        });
      }
      return json(modelObject(decodeURIComponent(path.slice("/v1/models/".length))));
    }
    return apiError(404, { type: "not_found_error", message: "Not Found" });
  }

  return serveProvider({
    name: "anthropic",
    opts,
    faults,
    stats,
    route: (req, ctx, url) => route(req, ctx, url.pathname),
    serverError: (message) => apiError(500, { type: "api_error", message }),
  });
}

if (import.meta.main) {
  await runSimulatorCli("anthropic", startAnthropicSimulator);
}
