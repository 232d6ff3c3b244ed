// Simulated OpenAI provider: a loopback server speaking OpenAI's Chat Completions wire format
// (https://platform.openai.com/docs/api-reference/chat), so the product runs with no API key.
// Also serves any OpenAI-compatible provider (DeepSeek, Mistral, Groq, …) via the `models` option.
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

import { z } from "zod";
import { CONTROL_PREFIX, type Fault, FaultController, handleControl, SimulatorStats } from "./control.ts";
import {
  CutStream,
  pacingFor,
  type RequestContext,
  runSimulatorCli,
  serveSimulator,
  type Simulator,
  type SimulatorOptions,
  sleep,
  untilAborted,
} from "./http.ts";
import { fnv1a, seededRandom, simulatedReply } from "./reply.ts";
import { estimateMessageTokens, tokenize } from "./tokens.ts";

export type { Simulator, SimulatorOptions } from "./http.ts";

export interface OpenAISimulatorOptions extends SimulatorOptions {
  /** Model ids listed by GET /v1/models (any id is accepted for chat). */
  models?: string[];
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
  tools: z.array(z.unknown()).nullish(),
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
  pieces: string[];
  content: string;
  finishReason: "stop" | "length";
  promptTokens: number;
  /** Seeds the obfuscation padding so a whole stream is reproducible. */
  seed: number;
}

function generate(body: ChatBody, opts: OpenAISimulatorOptions): Generation {
  const lastUser = body.messages.findLast((m) => m.role === "user");
  const seedText = JSON.stringify(body.messages);
  let text = simulatedReply({
    model: body.model,
    lastUserText: lastUser ? textsOf(lastUser).texts.join("\n") : undefined,
    seed: seedText,
    maxTokens: opts.maxReplyTokens,
  });
  // stop: the reply ends just before the earliest stop sequence (finish_reason "stop").
  const stops = (typeof body.stop === "string" ? [body.stop] : body.stop ?? []).filter((s) => s.length > 0);
  let cut = text.length;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  text = text.slice(0, cut);
  let pieces = tokenize(text);
  let finishReason: Generation["finishReason"] = "stop";
  const limit = body.max_completion_tokens ?? body.max_tokens;
  if (limit != null && pieces.length > limit) {
    pieces = pieces.slice(0, limit);
    finishReason = "length";
  }
  const promptTokens = estimateMessageTokens(
    body.messages.map((m) => ({ role: m.role, name: m.name, ...textsOf(m) })),
    body.tools?.length ? [JSON.stringify(body.tools)] : [],
  );
  return { pieces, content: pieces.join(""), finishReason, promptTokens, seed: fnv1a(seedText) };
}

function usageOf(g: Generation) {
  return {
    prompt_tokens: g.promptTokens,
    completion_tokens: g.pieces.length,
    total_tokens: g.promptTokens + g.pieces.length,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomString(n: number, rand: () => number = Math.random): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ID_ALPHABET[Math.floor(rand() * ID_ALPHABET.length)];
  return s;
}

// ---------------------------------------------------------------------------------------------
// The server

/** Starts the simulated OpenAI server on 127.0.0.1. */
export function startOpenAISimulator(opts: OpenAISimulatorOptions = {}): Promise<Simulator> {
  const faults = new FaultController();
  const stats = new SimulatorStats();
  const models = opts.models ?? DEFAULT_OPENAI_MODELS;
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
      default:
        return undefined;
    }
  }

  /** A 200 response whose body breaks off (used when the simulator closes mid-wait). */
  function dropped(ctx: RequestContext): Response {
    return new Response(
      ctx.stream(async function* () {
        yield "";
        throw new CutStream();
      }),
      { headers: baseHeaders({ "content-type": "application/json" }) },
    );
  }

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

    const gen = generate(body, opts);
    const pacing = pacingFor(opts, req.headers);
    const id = "chatcmpl-" + randomString(29);
    const created = Math.floor(Date.now() / 1000);
    const okHeaders = rateLimitHeaders(RATE_LIMIT_REQUESTS - 1 - (requestsThisWindow++ % 100), "120ms");

    if (!body.stream) {
      const completion = {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        choices: [{
          index: 0,
          message: { role: "assistant", content: gen.content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: gen.finishReason,
        }],
        usage: usageOf(gen),
        service_tier: "default",
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
      stats.active++;
      try {
        if (fault?.mode === "stall") {
          await untilAborted(ctx.signal);
        }
        await sleep(pacing.firstTokenLatencyMs + gen.pieces.length * pacing.msPerToken, ctx.signal);
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
      stats.tokens(gen.promptTokens, gen.pieces.length);
      return json(completion, 200, okHeaders);
    }

    // Streaming: chunk objects exactly as OpenAI frames them (see fixtures/providers/openai).
    const includeUsage = body.stream_options?.include_usage === true;
    const obfuscate = body.stream_options?.include_obfuscation !== false;
    const rand = seededRandom(gen.seed);
    const frame = (choices: unknown[], usage?: unknown) => {
      const chunk: Record<string, unknown> = {
        id,
        object: "chat.completion.chunk",
        created,
        model: body.model,
        service_tier: "default",
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices,
      };
      if (includeUsage) chunk.usage = usage ?? null;
      if (obfuscate) chunk.obfuscation = randomString(1 + Math.floor(rand() * 15), rand);
      return `data: ${JSON.stringify(chunk)}\n\n`;
    };
    const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finish,
    });
    // Several tokens per chunk when pacing is finer than 10 ms, so timers stay coarse.
    const perChunk = pacing.msPerToken > 0 && pacing.msPerToken < 10 ? Math.ceil(10 / pacing.msPerToken) : 1;
    const breakAt = fault ? Math.min(fault.afterTokens, gen.pieces.length) : Infinity;
    let streamErrored = false;

    async function* frames(signal: AbortSignal): AsyncGenerator<string> {
      await sleep(pacing.firstTokenLatencyMs, signal);
      yield frame([choice({ role: "assistant", content: "", refusal: null })]);
      let sent = 0;
      while (sent < Math.min(breakAt, gen.pieces.length)) {
        const take = Math.min(perChunk, Math.min(breakAt, gen.pieces.length) - sent);
        if (sent > 0) await sleep(take * pacing.msPerToken, signal);
        yield frame([choice({ content: gen.pieces.slice(sent, sent + take).join("") })]);
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
      yield frame([choice({}, gen.finishReason)]);
      if (includeUsage) yield frame([], usageOf(gen));
      yield "data: [DONE]\n\n";
    }

    stats.stream("started");
    stats.active++;
    const stream = ctx.stream(frames, (end) => {
      stats.active--;
      if (end === "completed") {
        if (streamErrored) stats.stream("errored");
        else {
          stats.stream("completed");
          stats.tokens(gen.promptTokens, gen.pieces.length);
        }
      } else if (end === "cut") stats.stream("cut");
      else if (end === "failed") stats.stream("errored");
      else stats.stream("aborted");
    });
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

  const server = serveSimulator(opts.port ?? 0, async (req, ctx) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith(CONTROL_PREFIX)) return await handleControl(req, path, faults, stats);
    stats.request();
    let res: Response;
    try {
      res = await route(req, ctx, path);
    } catch (e) {
      console.error("openai simulator: unexpected error", e);
      res = apiError(500, { message: String(e), type: "server_error", param: null, code: null });
    }
    stats.status(res.status);
    return res;
  });

  return Promise.resolve({
    url: `http://127.0.0.1:${server.port}/v1`,
    port: server.port,
    close: () => server.close(),
    faults,
    stats: () => stats.snapshot(),
  });
}

if (import.meta.main) {
  await runSimulatorCli("openai", startOpenAISimulator);
}
