// The chat pipeline: choose candidates, admit (one database round trip), call the provider,
// answer (SSE piped chunk by chunk, or JSON), then settle or release off the critical path.
// Every admitted request ends exactly once: `finish` below is the only way out.

import { type ChatModel, findModel, isChatModel, priceVersion } from "../catalog/index.ts";
import { cost, decimalJson } from "../money.ts";
import { estimatePromptTokens, estimateTokens } from "../tokens.ts";
import { outputBudget, worstCaseCost } from "../worst-case.ts";
import { admit, type Candidate, release, settle } from "../metering.ts";
import { route } from "../router.ts";
import { ApiError } from "../http/errors.ts";
import { userContextHeaders } from "../http/user-context.ts";
import { inBackground } from "../background.ts";
import { callProvider } from "../providers/call.ts";
import { isSimulated, providerInfo } from "../providers/registry.ts";
import { ProviderError, type Usage } from "../providers/types.ts";
import { SSE_HEADERS } from "../http/sse.ts";
import type { ServerTiming } from "../http/server-timing.ts";
import type { ChatBody } from "./schema.ts";
import { chatStream, type StreamOutcome } from "./stream.ts";

export interface Routing {
  selection: "explicit" | "router" | "default_model";
  reason: string;
}

export interface ChatContext {
  requestId: string;
  model: ChatModel;
  maxOutputTokens: number;
  promptTokens: number;
  conversationId: string | null;
  messageId: string;
  routing: Routing;
  /** Whether a simulated provider answers (said in the API and the UI). */
  simulated: boolean;
  headers: Record<string, string>;
  startedAt: number;
}

function candidatesFor(
  body: ChatBody,
  promptTokens: number,
): { candidates: Candidate[]; routed: boolean; reason: string } {
  const toCandidate = (model: ChatModel): Candidate => {
    const maxOutputTokens = outputBudget(model, body.maxTokens);
    return { model, maxOutputTokens, worstCaseCost: worstCaseCost(model, promptTokens, maxOutputTokens) };
  };
  const fits = (c: Candidate) => promptTokens + c.maxOutputTokens <= c.model.contextWindow;

  if (body.model && body.model !== "auto") {
    const model = findModel(body.model);
    if (!model) throw new ApiError("unknown_model", `Unknown model: ${body.model}`, { model: body.model });
    if (!isChatModel(model)) {
      throw new ApiError("invalid_request", `Model ${model.id} does not support chat`, { field: "model" });
    }
    const candidate = toCandidate(model);
    if (!fits(candidate)) {
      throw new ApiError("invalid_request", `The conversation is too long for ${model.id}'s context window`, {
        field: "messages",
        promptTokens,
        contextWindow: model.contextWindow,
      });
    }
    return { candidates: [candidate], routed: false, reason: "model chosen by the request" };
  }
  const decision = route();
  const candidates = decision.ranked.map(toCandidate).filter(fits);
  if (!candidates.length) {
    throw new ApiError("invalid_request", "The conversation is too long for every model");
  }
  return { candidates, routed: true, reason: decision.reason };
}

/** Admission: everything before the provider is called. Throws the refusal as an ApiError. */
export async function admitChat(userId: string, body: ChatBody): Promise<ChatContext> {
  const requestId = crypto.randomUUID();
  const promptTokens = estimatePromptTokens(body.messages);
  const { candidates, routed, reason } = candidatesFor(body, promptTokens);
  const lastUser = body.messages.at(-1)!.content;

  const admission = await admit({
    userId,
    requestId,
    candidates,
    routed,
    conversationId: body.conversationId,
    userMessage: lastUser,
    title: lastUser.replace(/\s+/g, " ").trim().slice(0, 80),
  });
  const headers = admission.quota ? userContextHeaders(admission.quota) : {};
  if (!admission.admitted) {
    if (admission.code === "rate_limited") headers["Retry-After"] = String(admission.retryAfter ?? 60);
    throw new ApiError(admission.code, admission.message, admission.details, headers);
  }
  const chosen = candidates.find((c) => c.model.id === admission.model)!;
  return {
    requestId,
    model: chosen.model,
    maxOutputTokens: chosen.maxOutputTokens,
    promptTokens,
    conversationId: admission.conversationId,
    messageId: crypto.randomUUID(),
    routing: {
      selection: admission.selection,
      reason: admission.selection === "default_model" ? "your default model (smart router off)" : reason,
    },
    simulated: isSimulated(chosen.model.provider),
    headers,
    startedAt: performance.now(),
  };
}

/** Ends an admitted request exactly once: settled for what was produced, or released. */
function finish(ctx: ChatContext, outcome: StreamOutcome): void {
  const produced = outcome.text.length > 0 || outcome.outputTokens > 0;
  if (!produced) {
    inBackground(
      release(ctx.requestId, outcome.status === "cancelled" ? "client_disconnected" : "no_output"),
    );
    return;
  }
  inBackground(settle({
    requestId: ctx.requestId,
    messageId: ctx.messageId,
    inputTokens: outcome.inputTokens,
    outputTokens: outcome.outputTokens,
    cost: outcome.cost,
    priceVersion: priceVersion(ctx.model),
    latencyMs: performance.now() - ctx.startedAt,
    status: outcome.status,
    content: outcome.text,
  }));
}

/** Usage as billed: the provider's report when it gave one, else an estimate of what was produced. */
export function billedUsage(
  ctx: ChatContext,
  reported: Usage | null,
  text: string,
  reasoning: string,
): Usage {
  return reported ?? {
    inputTokens: ctx.promptTokens,
    outputTokens: estimateTokens(text) + estimateTokens(reasoning),
  };
}

function providerApiError(e: unknown, headers: Record<string, string>): ApiError {
  if (e instanceof ProviderError) {
    const code = e.kind === "timeout"
      ? "provider_timeout"
      : e.kind === "unavailable"
      ? "provider_unavailable"
      : "provider_error";
    return new ApiError(code, e.message, undefined, headers);
  }
  console.error(JSON.stringify({ level: "error", msg: "provider call failed", error: String(e) }));
  return new ApiError("provider_error", "The provider call failed", undefined, headers);
}

/** Calls the provider and answers; the request is always settled or released. */
export async function respond(
  ctx: ChatContext,
  body: ChatBody,
  clientSignal: AbortSignal,
  timing: ServerTiming,
): Promise<Response> {
  const upstreamAbort = new AbortController();
  const request = {
    model: ctx.model,
    messages: body.messages,
    maxOutputTokens: ctx.maxOutputTokens,
    temperature: body.temperature,
    topP: body.topP,
    stop: body.stop,
  };
  let upstream: Response;
  try {
    upstream = await callProvider(
      request,
      body.stream,
      AbortSignal.any([clientSignal, upstreamAbort.signal]),
    );
  } catch (e) {
    finish(ctx, { status: "error", text: "", inputTokens: 0, outputTokens: 0, cost: "0" });
    throw providerApiError(e, ctx.headers);
  }
  timing.mark("provider");
  const adapter = providerInfo(ctx.model.provider).adapter;

  if (body.stream) {
    const events = adapter.parseStream(upstream.body!);
    const stream = chatStream(ctx, events, {
      onEnd: (outcome) => finish(ctx, outcome),
      abortUpstream: () => upstreamAbort.abort(),
      billedUsage: (reported, text, reasoning) => billedUsage(ctx, reported, text, reasoning),
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
  try {
    completion = adapter.parseResponse(await upstream.json());
  } catch (e) {
    finish(ctx, { status: "error", text: "", inputTokens: 0, outputTokens: 0, cost: "0" });
    throw providerApiError(e, ctx.headers);
  }
  timing.mark("answer");
  const usage = billedUsage(ctx, completion.usage, completion.text, completion.reasoning ?? "");
  const charged = cost(ctx.model.pricing, usage);
  finish(ctx, {
    status: "complete",
    text: completion.text,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cost: charged,
  });
  return Response.json({
    content: completion.text,
    model: ctx.model.id,
    cost: decimalJson(charged),
    usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
    conversationId: ctx.conversationId,
    messageId: ctx.messageId,
    routing: ctx.routing,
    simulated: ctx.simulated,
    finishReason: completion.finishReason,
  }, { headers: { ...ctx.headers, "X-Request-Id": ctx.requestId, "Server-Timing": timing.header() } });
}
