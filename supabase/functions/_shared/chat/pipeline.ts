// The chat pipeline: choose candidates, admit (one database round trip, which may also answer
// from the response cache or replay an idempotent retry), connect to a provider (retries,
// breaker, fallbacks), answer (SSE piped chunk by chunk, or JSON), then settle or release off
// the critical path. Every admitted request ends exactly once: `finish` is the only way out.

import {
  CHAT_MODELS,
  type ChatModel,
  findModel,
  fitsContext,
  isChatModel,
  isShutDown,
  priceVersion,
} from "../catalog/index.ts";
import { decimalJson } from "../money.ts";
import { countImages, countPromptTokens, estimatePromptTokens, estimateTokens } from "../tokens.ts";
import { chargeFor, outputBudget, worstCaseCost } from "../worst-case.ts";
import { type Admission, admit, type Candidate, release, settle, type StoredResult } from "../metering.ts";
import {
  availableCheck,
  decide,
  explain,
  fallbackModelsFor,
  type RouteRequest,
  servableCheck,
} from "../router/index.ts";
import { ApiError } from "../http/errors.ts";
import { userContextHeaders } from "../http/user-context.ts";
import { SSE_DONE, SSE_HEADERS, sseEvent } from "../http/sse.ts";
import type { ServerTiming } from "../http/server-timing.ts";
import { inBackground } from "../background.ts";
import { isDatabaseUnavailable, untilDatabaseAnswers } from "../db.ts";
import { isSimulated, providerInfo } from "../providers/registry.ts";
import { imagesOf, ProviderError, type ProviderRequest, textOf, type Usage } from "../providers/types.ts";
import {
  needsOf,
  type RequestNeeds,
  requiredCapabilities,
  unmetNeed,
  unmetNeedOf,
} from "../providers/capabilities.ts";
import { soonestReopening } from "../resilience/breaker.ts";
import { env } from "../env.ts";
import type { ChatRequest } from "./schema.ts";
import { watchBytes } from "../providers/sse.ts";
import {
  callBroke,
  chatStream,
  newToolCallId,
  OUT_OF_TIME,
  requestDeadline,
  type StreamOutcome,
  toolCallTexts,
} from "./stream.ts";
import { type AnswerFormat, briefFormat } from "./format.ts";
import { connect, type Connection } from "./connect.ts";
import { type Attempt, errorClassOf } from "../observability/attempts.ts";
import { log } from "../observability/log.ts";

/** Fallback models tried after the chosen one, at most. */
const MAX_FALLBACKS = 3;

export interface Routing {
  selection: "explicit" | "router" | "default_model";
  reason: string;
  /** The smart router's reading of the request (when it chose). */
  intent?: string;
  complexity?: string;
  required?: string[];
  preference?: string;
  /** The chosen model's worst case (prompt + whole output budget), USD. */
  worstCaseCost?: number;
  /** The next candidates, in order (the fallbacks). */
  candidates?: string[];
  /** The admitted model, when another one answered because its provider failed. */
  fallbackFrom?: string;
}

export interface ChatContext {
  requestId: string;
  body: ChatRequest;
  /** The model answering: the admitted one, or a fallback once connect() moved on. */
  model: ChatModel;
  fallbacks: ChatModel[];
  conversationId: string | null;
  messageId: string;
  routing: Routing;
  headers: Record<string, string>;
  cacheHash?: string;
  promptTokens(model: ChatModel): number;
  startedAt: number;
  /** The provider calls made so far (the provider-attempt log). */
  attempts: Attempt[];
  /** Tells the answering provider's breaker how its answer ended (set once connected). */
  providerEnded?: Connection["ended"];
}

/** An answer that needs no provider: a cache hit or an idempotent replay. */
export interface StoredAnswer {
  result: StoredResult;
  routing: Routing | null;
  cached: boolean;
  headers: Record<string, string>;
}

export type Prepared = { kind: "call"; ctx: ChatContext } | { kind: "stored"; answer: StoredAnswer };

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Requests with tools are not cached: the cache holds an answer's text, not its tool calls. */
function cacheable(body: ChatRequest, needs: RequestNeeds): boolean {
  return !needs.tools && (body.cache ?? body.temperature === 0);
}

function unservable(model: ChatModel): ApiError {
  if (isShutDown(model)) {
    const replacement = model.lifecycle?.replacement;
    return new ApiError(
      "invalid_request",
      `Model ${model.id} was retired by its provider${replacement ? `; use ${replacement}` : ""}`,
      { field: "model", shutdownOn: model.lifecycle?.shutdownOn, replacement },
    );
  }
  return new ApiError(
    "provider_unavailable",
    `Provider ${model.provider} is not configured on this deployment`,
  );
}

/**
 * What the smart router reads of a request: the turns' text, the images of the last user turn
 * (an image earlier in the conversation does not make every later question about it), and the
 * capabilities the request needs, among them vision for an image anywhere in the conversation
 * (every turn is sent to the model).
 */
export function routerInput(body: ChatRequest, needs: RequestNeeds = needsOf(body)): RouteRequest {
  const lastUser = body.messages.findLast((m) => m.role === "user");
  return {
    messages: body.messages.map((m) => ({ role: m.role, content: textOf(m.content) })),
    attachments: lastUser ? imagesOf(lastUser.content).map(() => ({ type: "image" })) : [],
    needsCapabilities: requiredCapabilities(needs),
    preference: body.routing,
    maxTokens: body.maxTokens,
  };
}

/** Who is asking: a signed-in user, or a platform API key (by its hash). */
export type Caller = { userId: string; sessionId?: string } | { keyHash: string };

export interface PrepareOptions {
  /** The id the request is known by (X-Request-Id, logs, the requests row); default a new one. */
  requestId?: string;
  idempotencyKey?: string;
  /** Store the exchange in a conversation (POST /chat); the OpenAI surface is stateless. */
  store?: boolean;
  /** Marks "route" (token counts, model choice, worst cases) before the admission round trip. */
  timing?: ServerTiming;
}

/**
 * admit(), once more on a fresh connection when the database connection broke (a pooled
 * connection outlives a database restart and fails its next query). Retrying is safe: the
 * request id is the requests row's key, so an admission that did commit cannot happen twice.
 * When the answer stays lost, or the retry is refused (possibly because of the first try: its
 * Idempotency-Key then looks in flight, its counts used), the request is released in the
 * background (a no-op if it was never admitted): nobody will answer it, so it must not stay
 * admitted.
 */
export async function admitOrUndo(
  requestId: string,
  args: Parameters<typeof admit>[0],
  admitOnce: typeof admit = admit,
): Promise<Admission> {
  const undo = () => inBackground(untilDatabaseAnswers(() => release(requestId, "admission_interrupted")));
  try {
    return await admitOnce(args);
  } catch (first) {
    if (!isDatabaseUnavailable(first)) throw first;
    try {
      const again = await admitOnce(args);
      if (!again.admitted) undo();
      return again;
    } catch (second) {
      undo();
      throw isDatabaseUnavailable(second) ? second : first;
    }
  }
}

/** Admission: everything before the provider is called. Throws refusals as ApiErrors. */
export async function prepareChat(
  caller: Caller,
  body: ChatRequest,
  opts: PrepareOptions = {},
): Promise<Prepared> {
  const { idempotencyKey, store = true } = opts;
  const requestId = opts.requestId ?? crypto.randomUUID();
  const needs = needsOf(body);
  const extras = { tools: body.tools, responseFormat: body.responseFormat };
  const exact = await countPromptTokens("openai", body.messages, extras);
  const estimate = estimatePromptTokens(body.messages, extras);
  const images = countImages(body.messages);
  // Each image at the model's per-image worst case, so admission's worst case stays an upper bound.
  const promptTokens = (m: ChatModel) =>
    (m.provider === "openai" ? exact : estimate) + images * (m.imageInputTokens ?? 0);
  const serves = (m: ChatModel) => unmetNeed(m, needs) === null;
  const isServable = servableCheck(); // one reading of the providers' configuration for the request
  const toCandidate = (model: ChatModel): Candidate => {
    const maxOutputTokens = outputBudget(model, body.maxTokens);
    return {
      model,
      maxOutputTokens,
      worstCaseCost: worstCaseCost(model, promptTokens(model), maxOutputTokens),
    };
  };
  const fits = (c: Candidate) => fitsContext(c.model, promptTokens(c.model), c.maxOutputTokens);

  let candidates: Candidate[];
  let fallbacks: Candidate[] = [];
  let reason: string;
  let decision: ReturnType<typeof decide> | undefined;
  /** Why the router found no model, answered unless admission picks the user's default model. */
  let noModel: ((headers: Record<string, string>) => ApiError) | undefined;
  const routed = !body.model || body.model === "auto";
  const lastUserMessage = body.messages.findLast((m) => m.role === "user");
  if (!routed) {
    const model = findModel(body.model!);
    if (!model) throw new ApiError("unknown_model", `Unknown model: ${body.model}`, { model: body.model });
    if (!isChatModel(model)) {
      throw new ApiError("invalid_request", `Model ${model.id} does not support chat`, { field: "model" });
    }
    if (!isServable(model)) throw unservable(model);
    const unmet = unmetNeedOf(model, needs);
    if (unmet) throw new ApiError("invalid_request", unmet.message, { field: unmet.field, model: model.id });
    const candidate = toCandidate(model);
    if (!fits(candidate)) {
      throw new ApiError("invalid_request", `The conversation is too long for ${model.id}'s context window`, {
        field: "messages",
        promptTokens: promptTokens(model),
        contextWindow: model.contextWindow,
        ...(model.maxInputTokens ? { maxInputTokens: model.maxInputTokens } : {}),
      });
    }
    candidates = [candidate];
    if (body.fallback) {
      fallbacks = fallbackModelsFor(model, isServable).filter(serves).map(toCandidate).filter(fits);
    }
    reason = "model chosen by the request";
  } else {
    const available = availableCheck(isServable);
    const request: RouteRequest = {
      ...routerInput(body, needs),
      promptTokens: (m) => promptTokens(m as ChatModel),
      promptEstimate: estimate,
    };
    decision = decide({ ...request, isAvailable: (m) => available(m) && serves(m as ChatModel) });
    candidates = decision.ranked.map((r) => ({
      model: r.model as ChatModel,
      maxOutputTokens: outputBudget(r.model as ChatModel, body.maxTokens),
      worstCaseCost: r.worstCaseCost,
    }));
    if (!candidates.length) {
      // Models that would serve it but cannot answer now (provider not configured, or its
      // circuit open; retired ones do not count): 503, not the plan's 403.
      const waiting = decide({
        ...request,
        isAvailable: (m) => serves(m as ChatModel) && (isServable(m) || !isShutDown(m)),
      }).ranked.map((r) => r.model.provider);
      const needed = [
        ...decision.required,
        ...(needs.jsonMode ? [`response_format ${needs.jsonMode}`] : []),
        ...(needs.toolChoice ? [`tool_choice ${needs.toolChoice}`] : []),
      ].join(", ") || "chat";
      noModel = (headers) => {
        if (!waiting.length) {
          return new ApiError(
            "model_not_allowed",
            `No available model can serve this request (needs ${needed})`,
            undefined,
            headers,
          );
        }
        const providers = [...new Set(waiting)];
        const reopens = soonestReopening(providers);
        return new ApiError(
          "provider_unavailable",
          `No model that can serve this request (needs ${needed}) is available right now: ${
            providers.join(", ")
          } ${reopens === null ? "not available" : "failing (circuit open)"}`,
          { providers },
          reopens === null
            ? headers
            : { ...headers, "Retry-After": String(Math.max(1, Math.ceil(reopens / 1000))) },
        );
      };
    }
    reason = decision.reason;
  }

  const lastUser = textOf(lastUserMessage?.content ?? "");
  const cacheHash = cacheable(body, needs)
    ? await sha256(JSON.stringify([
      body.messages,
      body.temperature,
      body.topP,
      body.maxTokens,
      body.stop,
      ...(body.responseFormat ? [body.responseFormat] : []),
      ...(body.reasoningEffort ? [{ reasoningEffort: body.reasoningEffort }] : []),
    ]))
    : undefined;
  const defaultOptions = routed
    ? CHAT_MODELS.filter(isServable).filter(serves).map(toCandidate).filter(fits)
    : undefined;
  // A user who turned the router off is answered by their default model whatever the router
  // found: only admission knows, so the router's refusal waits for its answer.
  if (noModel && !defaultOptions?.length) throw noModel({});
  opts.timing?.mark("route");
  const admission = await admitOrUndo(requestId, {
    ...caller,
    requestId,
    candidates,
    fallbacks,
    routed,
    conversationId: store ? body.conversationId : undefined,
    userMessage: store && !body.regenerate ? lastUser : null,
    title: store ? lastUser.replace(/\s+/g, " ").trim().slice(0, 80) : null,
    idempotencyKey,
    // the same request whatever its answer format: a replay may be streamed or not
    requestHash: idempotencyKey ? await sha256(JSON.stringify({ ...body, stream: undefined })) : undefined,
    cacheHash,
    defaultOptions,
  });
  const headers = admission.quota ? userContextHeaders(admission.quota) : {};
  if (!admission.admitted) {
    if (admission.code === "replay") {
      headers["Idempotent-Replayed"] = "true";
      return { kind: "stored", answer: { result: admission.replay!, routing: null, cached: false, headers } };
    }
    if (admission.code === "rate_limited") headers["Retry-After"] = String(admission.retryAfter ?? 60);
    // Nothing to choose from, and no default model to answer instead. (An API key's budget
    // refuses only a model admission could have picked: the default model, over the budget.)
    if (noModel && admission.code === "model_not_allowed") throw noModel(headers);
    throw new ApiError(admission.code, admission.message, admission.details, headers);
  }

  const routing: Routing = {
    selection: admission.selection,
    reason: admission.selection === "default_model" ? "your default model (smart router off)" : reason,
  };
  if (decision && admission.selection === "router") {
    const chosen = decision.ranked.find((r) => r.model.id === admission.model) ?? null;
    Object.assign(routing, {
      intent: decision.intent,
      complexity: decision.complexity,
      required: decision.required,
      preference: decision.preference,
      reason: explain(decision, chosen),
      ...(chosen ? { worstCaseCost: decimalJson(chosen.worstCaseCost) } : {}),
      candidates: admission.fallbacks.slice(0, MAX_FALLBACKS),
    });
  }
  if (admission.cached) {
    const model = findModel(admission.model)!;
    return {
      kind: "stored",
      answer: {
        result: {
          requestId,
          model: model.id,
          conversationId: admission.conversationId,
          messageId: admission.cached.messageId,
          content: admission.cached.content,
          cost: "0",
          inputTokens: admission.cached.inputTokens,
          outputTokens: admission.cached.outputTokens,
        },
        routing,
        cached: true,
        headers,
      },
    };
  }
  const chatModel = (id: string) => {
    const m = findModel(id);
    return m && isChatModel(m) ? m : undefined;
  };
  return {
    kind: "call",
    ctx: {
      requestId,
      body,
      model: chatModel(admission.model)!,
      fallbacks: admission.fallbacks.slice(0, MAX_FALLBACKS).map(chatModel).filter((m) => m !== undefined),
      conversationId: admission.conversationId,
      messageId: crypto.randomUUID(),
      routing,
      headers,
      cacheHash,
      promptTokens,
      startedAt: performance.now(),
      attempts: [],
    },
  };
}

/** Ends an admitted request exactly once: settled for what was produced, or released. */
function finish(ctx: ChatContext, outcome: StreamOutcome): void {
  // The answering call's last word: a break after it began was marked on it (markBroken);
  // still "ok" and not complete, it ended by the client's leaving or our own time limit.
  const broke = ctx.attempts.at(-1)?.outcome !== "ok";
  ctx.providerEnded?.(outcome.status === "complete" ? "ok" : broke ? "failed" : "unknown");
  // A provider that answered in full was paid for the prompt even when it said nothing (a
  // content filter, an empty reply): settled, so what the client was shown is what is recorded.
  const produced = outcome.text.length > 0 || outcome.outputTokens > 0 || outcome.toolCalls.length > 0 ||
    outcome.status === "complete";
  // the failed attempt's class (a call that broke after its start was marked so: markBroken);
  // a request our own time limit ended blames no provider
  const errorClass = outcome.status === "error"
    ? (broke ? errorClassOf(ctx.attempts) : null) ?? "time_limit"
    : null;
  const trail = { attempts: ctx.attempts, errorClass };
  if (!produced) {
    const reason = outcome.status === "cancelled"
      ? "client_disconnected"
      : outcome.status === "error"
      ? "provider_error"
      : "no_output";
    inBackground(untilDatabaseAnswers(() => release(ctx.requestId, reason, trail), endingWindow(ctx)));
    return;
  }
  const said = outcome.text.length > 0 || outcome.toolCalls.length > 0;
  const settlement = {
    requestId: ctx.requestId,
    messageId: ctx.messageId,
    model: ctx.model,
    inputTokens: outcome.inputTokens,
    outputTokens: outcome.outputTokens,
    cost: outcome.cost,
    priceVersion: priceVersion(ctx.model),
    latencyMs: performance.now() - ctx.startedAt,
    status: outcome.status,
    // an answer of nothing is billed, not stored as a message nor cached
    content: said ? outcome.text : null,
    cacheHash: said && outcome.status === "complete" && wholeAnswer(outcome.finishReason)
      ? ctx.cacheHash
      : undefined,
    cacheTtlSeconds: env.cacheTtlSeconds,
  };
  inBackground(untilDatabaseAnswers(() => settle(settlement, trail), endingWindow(ctx)));
}

/** Age at which release_stale_requests() releases a request still admitted (its default). */
const STALE_AFTER_MS = 15 * 60_000;

/**
 * How long an ending keeps trying through a database outage: until a minute before the sweeper
 * would release the request as abandoned (an ending after that changes nothing), at least the
 * two minutes of a restart. (An instance the platform retires takes its endings with it.)
 */
function endingWindow(ctx: ChatContext): number {
  return Math.max(120_000, STALE_AFTER_MS - 60_000 - (performance.now() - ctx.startedAt));
}

/**
 * Whether an answer ended by itself (not cut by the output budget or a filter): only those are
 * cached, since a replay says the answer stopped naturally.
 */
function wholeAnswer(finishReason: string | null): boolean {
  return finishReason !== null && /^(stop|end_turn|complete|stop_sequence)$/i.test(finishReason);
}

/**
 * Usage as billed: the provider's report when it gave a sound one, else an estimate of what was
 * produced. A report of fractions, negatives or huge numbers (an odd OpenAI-compatible server)
 * cannot be priced exactly: estimated instead of failing the settlement.
 */
export function billedUsage(ctx: ChatContext, reported: Usage | null, produced: string[]): Usage {
  if (reported && Object.values(reported).every((n) => n === undefined || isTokenCount(n))) return reported;
  if (reported) {
    log.warn("provider reported unusable usage", { provider: ctx.model.provider, usage: reported });
  }
  return {
    inputTokens: ctx.promptTokens(ctx.model),
    outputTokens: produced.reduce((n, t) => n + estimateTokens(t), 0),
  };
}

const isTokenCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * A request that ends before any answer: released, as what it is. A client that left is
 * `client_disconnected` (not a provider's error, and nothing to log as one); anything else is
 * the provider's failure, answered as such.
 */
function endedBeforeAnswer(ctx: ChatContext, clientSignal: AbortSignal, e: unknown): ApiError {
  if (clientSignal.aborted) {
    finish(ctx, { ...NOTHING, status: "cancelled" });
    return new ApiError("provider_error", "The client closed the request", undefined, ctx.headers);
  }
  callBroke(ctx.attempts, e); // a non-streamed answer whose body broke after its headers
  finish(ctx, NOTHING);
  return providerApiError(e, ctx.headers);
}

/** Provider statuses that mean "not now" rather than "not this request". */
const PASSING_REFUSALS = new Set([408, 409, 429]);

function providerApiError(e: unknown, headers: Record<string, string>): ApiError {
  if (e instanceof ProviderError) {
    const code = e.kind === "timeout"
      ? "provider_timeout"
      : e.kind === "unavailable"
      ? "provider_unavailable"
      : "provider_error";
    // The SDKs retry every 5xx. A provider that refused the request itself (a 4xx) will refuse
    // it again: say so (OpenAI's SDKs obey x-should-retry). A provider that said when to come
    // back: pass that on.
    const refused = e.kind === "error" && e.status !== undefined && e.status >= 400 && e.status < 500 &&
      !PASSING_REFUSALS.has(e.status);
    const advice: Record<string, string> = refused
      ? { "x-should-retry": "false" }
      : e.retryAfterSeconds
      ? { "retry-after": String(Math.ceil(e.retryAfterSeconds)) }
      : {};
    return new ApiError(code, e.message, undefined, { ...headers, ...advice });
  }
  log.error("provider call failed", { error: String(e) });
  return new ApiError("provider_error", "The provider call failed", undefined, headers);
}

/** What a provider is asked: the request as the client sent it, for `model`. */
export function providerRequest(ctx: ChatContext, model: ChatModel): ProviderRequest {
  const { body } = ctx;
  return {
    model,
    messages: body.messages,
    maxOutputTokens: outputBudget(model, body.maxTokens),
    temperature: body.temperature,
    topP: body.topP,
    stop: body.stop,
    tools: body.tools,
    toolChoice: body.toolChoice,
    responseFormat: body.responseFormat,
    parallelToolCalls: body.parallelToolCalls,
    reasoningEffort: body.reasoningEffort,
  };
}

/** The outcome of a request that produced nothing (released). */
const NOTHING: StreamOutcome = {
  status: "error",
  text: "",
  toolCalls: [],
  finishReason: null,
  inputTokens: 0,
  outputTokens: 0,
  cost: "0",
};

/** Calls a provider (with retries and fallbacks) and answers; the request always ends once. */
export async function respond(
  ctx: ChatContext,
  clientSignal: AbortSignal,
  timing: ServerTiming,
  format: AnswerFormat = briefFormat,
): Promise<Response> {
  const upstreamAbort = new AbortController();
  const { body } = ctx;
  const deadline = requestDeadline(ctx);
  let upstream: Response;
  try {
    const connection = await connect(
      [ctx.model, ...ctx.fallbacks],
      (model) => providerRequest(ctx, model),
      body.stream,
      AbortSignal.any([clientSignal, upstreamAbort.signal]),
      ctx.attempts,
      deadline,
    );
    if (connection.model.id !== ctx.model.id) {
      ctx.routing.fallbackFrom = ctx.model.id;
      ctx.routing.reason = `${ctx.model.id} was unavailable; answered by ${connection.model.id}`;
      ctx.model = connection.model;
    }
    ctx.providerEnded = connection.ended;
    upstream = connection.response;
  } catch (e) {
    throw endedBeforeAnswer(ctx, clientSignal, e);
  }
  timing.mark("provider");
  const adapter = providerInfo(ctx.model.provider).adapter;
  const simulated = isSimulated(ctx.model.provider);

  if (body.stream) {
    const liveness = watchBytes(upstream.body!);
    const stream = chatStream(ctx, format, simulated, adapter.parseStream(upstream.body!), {
      onEnd: (outcome) => finish(ctx, outcome),
      abortUpstream: () => upstreamAbort.abort(),
      billedUsage: (reported, produced) => billedUsage(ctx, reported, produced),
      liveness,
    });
    return new Response(stream, {
      headers: {
        ...ctx.headers,
        ...SSE_HEADERS,
        "X-Request-Id": ctx.requestId,
        "Server-Timing": timing.header(),
      },
    });
  }

  let completion;
  const deadlineTimer = setTimeout(() => upstreamAbort.abort(OUT_OF_TIME), deadline - performance.now());
  try {
    completion = adapter.parseResponse(await upstream.json());
  } catch (e) {
    throw endedBeforeAnswer(ctx, clientSignal, upstreamAbort.signal.reason === OUT_OF_TIME ? OUT_OF_TIME : e);
  } finally {
    clearTimeout(deadlineTimer);
  }
  timing.mark("answer");
  const toolCalls = completion.toolCalls.map((c) => ({ ...c, id: c.id || newToolCallId() }));
  const refusal = completion.refusal ?? null;
  const usage = billedUsage(ctx, completion.usage, [
    completion.text,
    refusal ?? "",
    completion.reasoning ?? "",
    ...toolCallTexts(toolCalls),
  ]);
  const charged = chargeFor(ctx, usage);
  finish(ctx, {
    status: "complete",
    text: completion.text + (refusal ?? ""), // what is stored: a refusal is the model's reply
    toolCalls,
    finishReason: completion.finishReason,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cost: charged,
  });
  const summary = {
    text: completion.text,
    refusal,
    reasoning: completion.reasoning,
    citations: completion.citations,
    toolCalls,
    finishReason: completion.finishReason,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cachedInputTokens: usage.cachedInputTokens,
    reasoningTokens: usage.reasoningTokens,
    cost: charged,
    simulated,
  };
  return Response.json(format.json(ctx, summary), {
    headers: {
      ...ctx.headers,
      "X-Request-Id": ctx.requestId,
      "Server-Timing": timing.header(),
      "X-Nexus-Cost": charged,
    },
  });
}

/** A cached answer or an idempotent replay, in the same shapes as a live one. */
export function respondStored(answer: StoredAnswer, stream: boolean): Response {
  const { result } = answer;
  const headers = {
    ...answer.headers,
    "X-Request-Id": result.requestId,
    ...(answer.cached ? { "X-Cache": "HIT" } : {}),
  };
  const usage = { inputTokens: result.inputTokens, outputTokens: result.outputTokens };
  const simulated = isSimulated(findModel(result.model)?.provider ?? "");
  const meta = {
    conversationId: result.conversationId,
    messageId: result.messageId,
    requestId: result.requestId,
    model: result.model,
    simulated,
    cached: answer.cached,
    ...(answer.routing ? { routing: answer.routing } : {}),
  };
  if (!stream) {
    return Response.json({ ...meta, content: result.content, cost: decimalJson(result.cost), usage }, {
      headers,
    });
  }
  const events = [
    sseEvent(meta),
    ...(result.content ? [sseEvent({ delta: result.content, model: result.model })] : []),
    sseEvent({ cost: decimalJson(result.cost), model: result.model, usage }),
    SSE_DONE,
  ];
  return new Response(new Blob(events as BlobPart[]).stream(), { headers: { ...headers, ...SSE_HEADERS } });
}
