// Simulated Cohere provider: a loopback server speaking Cohere's v2 Chat API
// (https://docs.cohere.com/reference/chat) as the official `cohere-ai` SDK calls it, so the
// product runs with no API key. The base URL is the SDK root (the SDK appends v2/chat).
//
//   POST /v2/chat     streaming (SSE, `event:` names) and not; usage {billed_units, tokens,
//                     cached_tokens}; max_tokens; stop_sequences; Cohere's 400/401 shapes
//   /__simulator/…    fault plan and counters (see control.ts)
//
// Stream events, in the order and shapes of the recorded fixtures (fixtures/providers/cohere):
//   message-start, content-start (type text), content-delta × n, content-end,
//   message-end {finish_reason: COMPLETE | MAX_TOKENS | STOP_SEQUENCE, usage}
//
// Usage. Cohere reports what it bills (billed_units: the caller's message tokens and the
// generated tokens) and what the model processed (tokens: also Cohere's prompt template, role
// markers and the end-of-turn token). Here, with the simulators' tokenizer (tokens.ts):
//   billed_units.input_tokens  = Σ tokens of every message's text (+ the tools' JSON, if any)
//   billed_units.output_tokens = tokens of the reply (one content-delta per token)
//   tokens.input_tokens        = billed input + PROMPT_TEMPLATE_TOKENS + TOKENS_PER_MESSAGE × messages
//   tokens.output_tokens       = billed output + END_OF_TURN_TOKENS
//   cached_tokens              = PROMPT_TEMPLATE_TOKENS (the template is the same every time)
// The stats' token totals count billed_units.
//
// Errors have Cohere's shape {"id": "<uuid>", "message": "…"} (the documented {"message"} plus
// the id Cohere adds). Faults: rate_limit → 429 + retry-after; server_error → 500;
// unavailable and overloaded → 503 (Cohere has no separate "overloaded" status); cut_stream → the connection drops after afterTokens content-deltas (no
// message-end); stall → no more events, connection left open; stream_error → message-end with
// finish_reason ERROR and an `error` message (non-streaming: 500); early_end → the body ends
// cleanly after afterTokens content-deltas, with no message-end (non-streaming: finish_reason null).
//
// Keys: any non-empty Bearer key, or only `apiKey` when that option is given (so a test can send
// a wrong one). Pacing: the options, or per request the headers x-simulator-latency-ms and
// x-simulator-tps.
//
// Standalone: deno run -A scripts/simulators/cohere.ts --port 1234 --tps 80 --first-token-ms 200

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
import { simulatedReply } from "./reply.ts";
import { countTokens, tokenize, TOKENS_PER_MESSAGE } from "./tokens.ts";
import { callId, jsonReply, planToolCall, type SimCall, toolResultReply } from "./tools.ts";

export type { Simulator, SimulatorOptions } from "./http.ts";

export interface CohereSimulatorOptions extends SimulatorOptions {
  /** When set, only this Bearer key is accepted (others get 401 "invalid api token"). */
  apiKey?: string;
}

/** Tokens of Cohere's own prompt template, counted in `tokens.input_tokens` but not billed. */
export const PROMPT_TEMPLATE_TOKENS = 448;
/** The end-of-turn token, counted in `tokens.output_tokens` but not billed. */
export const END_OF_TURN_TOKENS = 1;

const MAX_STOP_SEQUENCES = 5;

// ---------------------------------------------------------------------------------------------
// Request body (snake_case, as the SDK serializes it)

const ContentPart = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  thinking: z.string().optional(),
});
const Content = z.union([z.string(), z.array(ContentPart)]);
const ToolCall = z.looseObject({
  id: z.string().optional(),
  type: z.string().optional(),
  function: z.looseObject({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
});
const Message = z.discriminatedUnion("role", [
  z.looseObject({ role: z.literal("system"), content: Content }),
  z.looseObject({ role: z.literal("user"), content: Content }),
  z.looseObject({
    role: z.literal("assistant"),
    content: Content.optional(),
    tool_plan: z.string().optional(),
    tool_calls: z.array(ToolCall).optional(),
  }),
  z.looseObject({ role: z.literal("tool"), tool_call_id: z.string(), content: Content }),
]);
const Body = z.looseObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  stream: z.boolean().optional(),
  max_tokens: z.int().min(1).optional(),
  stop_sequences: z.array(z.string()).max(MAX_STOP_SEQUENCES).optional(),
  temperature: z.number().min(0).optional(),
  p: z.number().min(0.01).max(0.99).optional(),
  k: z.int().min(0).max(500).optional(),
  frequency_penalty: z.number().min(0).max(1).optional(),
  presence_penalty: z.number().min(0).max(1).optional(),
  seed: z.int().optional(),
  tools: z.array(z.looseObject({
    type: z.literal("function"),
    function: z.looseObject({
      name: z.string().min(1),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()),
    }),
  })).optional(),
  tool_choice: z.enum(["REQUIRED", "NONE"]).optional(),
  response_format: z.looseObject({
    type: z.enum(["text", "json_object"]),
    json_schema: z.record(z.string(), z.unknown()).optional(),
  }).optional(),
});
type ChatBody = z.output<typeof Body>;
type ChatMessage = z.output<typeof Message>;

// ---------------------------------------------------------------------------------------------
// Responses in Cohere's shapes

function baseHeaders(extra: Record<string, string> = {}): Headers {
  return new Headers({
    "x-debug-trace-id": crypto.randomUUID().replaceAll("-", ""),
    "x-simulated-provider": "cohere",
    ...extra,
  });
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const h = baseHeaders(headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** Cohere's error body: {"id", "message"}. */
function apiError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return json({ id: crypto.randomUUID(), message }, status, headers);
}

function invalidRequest(message: string): Response {
  return apiError(400, `invalid request: ${message}`);
}

/** A zod path like Cohere words it: messages[0].role */
function fieldOf(path: PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`).join(
    "",
  );
}

/** The first validation issue, worded like Cohere's "invalid request: …" messages. */
function validationError(error: z.ZodError): Response {
  const issue = error.issues[0];
  const field = fieldOf(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      return invalidRequest(
        input === undefined ? `${field} must be specified` : `${field} must be of type ${issue.expected}`,
      );
    case "invalid_union":
      if (input === undefined) return invalidRequest(`${field} must be specified`);
      if (issue.path.at(-1) === "role" || (issue as { note?: string }).note === "No matching discriminator") {
        return invalidRequest(
          `${field}${field.endsWith("role") ? "" : ".role"} must be one of system, user, assistant, tool`,
        );
      }
      return invalidRequest(`${field} has an invalid type`);
    case "too_small":
      if (issue.origin === "array") return invalidRequest(`${field} must not be empty`);
      if (issue.origin === "string") return invalidRequest(`${field} must not be empty`);
      return invalidRequest(`${field} must be at least ${issue.minimum} - received ${String(input)}`);
    case "too_big":
      if (issue.origin === "array") {
        return invalidRequest(`${field} must have at most ${issue.maximum} elements`);
      }
      return invalidRequest(`${field} must be at most ${issue.maximum} - received ${String(input)}`);
    default:
      return invalidRequest(`${field}: ${issue.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Generation

function textsOf(content: z.output<typeof Content> | undefined): string[] {
  if (content === undefined) return [];
  if (typeof content === "string") return [content];
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part.text === "string") texts.push(part.text);
    else if (typeof part.thinking === "string") texts.push(part.thinking);
  }
  return texts;
}

function messageTexts(m: ChatMessage): string[] {
  const texts = textsOf(m.content);
  if (m.role === "assistant") {
    if (m.tool_plan) texts.push(m.tool_plan);
    for (const c of m.tool_calls ?? []) texts.push(c.function?.name ?? "", c.function?.arguments ?? "");
  }
  return texts;
}

type FinishReason = "COMPLETE" | "MAX_TOKENS" | "STOP_SEQUENCE" | "TOOL_CALL";

interface Generation {
  /** The tool the model calls instead of answering in text, with its plan (see tools.ts). */
  call?: { id: string; name: string; arguments: string; plan: string[]; argPieces: string[] };
  pieces: string[];
  text: string;
  finishReason: FinishReason;
  billedInput: number;
  /** Messages in the request (for `tokens.input_tokens`). */
  messages: number;
}

/** The call the model makes (Cohere's tool_choice: REQUIRED or NONE; auto by default). */
function plannedCall(body: ChatBody, afterToolResult: boolean): SimCall | null {
  const tools = (body.tools ?? []).map((t) => ({ name: t.function.name, parameters: t.function.parameters }));
  const choice = body.tool_choice === "NONE" ? "none" : body.tool_choice === "REQUIRED" ? "required" : "auto";
  return planToolCall(tools, choice, afterToolResult);
}

function generate(body: ChatBody, opts: CohereSimulatorOptions): Generation {
  const lastUser = body.messages.findLast((m) => m.role === "user");
  const lastUserText = lastUser ? textsOf(lastUser.content).join("\n") : undefined;
  const results = body.messages.at(-1)?.role === "tool"
    ? body.messages.slice(body.messages.findLastIndex((m) => m.role !== "tool") + 1)
      .map((m) => textsOf(m.content).join(""))
    : [];
  const planned = plannedCall(body, results.length > 0);
  let text = planned
    ? ""
    : results.length
    ? toolResultReply(body.model, results)
    : body.response_format?.type === "json_object"
    ? jsonReply(body.model, body.response_format.json_schema, lastUserText)
    : simulatedReply({
      model: body.model,
      lastUserText,
      seed: JSON.stringify(body.messages),
      maxTokens: opts.maxReplyTokens,
    });
  // stop_sequences: the reply ends just before the earliest match, which is not included.
  let finishReason: FinishReason = planned ? "TOOL_CALL" : "COMPLETE";
  let cut = text.length;
  for (const s of body.stop_sequences ?? []) {
    const i = s.length > 0 ? text.indexOf(s) : -1;
    if (i >= 0 && i < cut) cut = i;
  }
  if (cut < text.length) {
    text = text.slice(0, cut);
    finishReason = "STOP_SEQUENCE";
  }
  let pieces = tokenize(text);
  if (body.max_tokens !== undefined && pieces.length > body.max_tokens) {
    pieces = pieces.slice(0, body.max_tokens);
    finishReason = "MAX_TOKENS";
  }
  let billedInput = 0;
  for (const m of body.messages) for (const t of messageTexts(m)) billedInput += countTokens(t);
  if (body.tools?.length) billedInput += countTokens(JSON.stringify(body.tools));
  const call = planned
    ? {
      id: callId(`${planned.name}_`, 12).toLowerCase(),
      name: planned.name,
      arguments: planned.arguments,
      plan: tokenize(`I will use the ${planned.name} tool.`),
      argPieces: tokenize(planned.arguments),
    }
    : undefined;
  return {
    ...(call ? { call } : {}),
    pieces,
    text: pieces.join(""),
    finishReason,
    billedInput,
    messages: body.messages.length,
  };
}

/** Billed output: the text, or the tool plan and the call's name and arguments. */
function outputOf(g: Generation): number {
  return g.pieces.length +
    (g.call ? g.call.plan.length + countTokens(g.call.name) + g.call.argPieces.length : 0);
}

/** The usage block for `outputTokens` generated tokens (see the header for the rule). */
function usageOf(g: Generation, outputTokens = outputOf(g)) {
  return {
    billed_units: { input_tokens: g.billedInput, output_tokens: outputTokens },
    tokens: {
      input_tokens: g.billedInput + PROMPT_TEMPLATE_TOKENS + TOKENS_PER_MESSAGE * g.messages,
      output_tokens: outputTokens + END_OF_TURN_TOKENS,
    },
    cached_tokens: PROMPT_TEMPLATE_TOKENS,
  };
}

function sseEvent(event: Record<string, unknown> & { type: string }): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** A tool call streamed as recorded: tool-plan deltas, then tool-call-start / -delta… / -end. */
function* toolCallEvents(call: NonNullable<Generation["call"]>): Generator<string> {
  for (const piece of call.plan) {
    yield sseEvent({ type: "tool-plan-delta", delta: { message: { tool_plan: piece } } });
  }
  yield sseEvent({
    type: "tool-call-start",
    index: 0,
    delta: {
      message: {
        tool_calls: { id: call.id, type: "function", function: { name: call.name, arguments: "" } },
      },
    },
  });
  for (const piece of call.argPieces) {
    yield sseEvent({
      type: "tool-call-delta",
      index: 0,
      delta: { message: { tool_calls: { function: { arguments: piece } } } },
    });
  }
  yield sseEvent({ type: "tool-call-end", index: 0 });
}

// ---------------------------------------------------------------------------------------------
// The server

/** Starts the simulated Cohere server on 127.0.0.1; `url` is the SDK root (environment). */
export function startCohereSimulator(opts: CohereSimulatorOptions = {}): Promise<Simulator> {
  const faults = new FaultController();
  const stats = new SimulatorStats();

  function authError(req: Request): Response | undefined {
    const header = req.headers.get("authorization");
    if (!header) return apiError(401, "no api key supplied");
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || (opts.apiKey !== undefined && m[1] !== opts.apiKey)) return apiError(401, "invalid api token");
    return undefined;
  }

  /** The error response a fault calls for, or undefined when it acts on the body instead. */
  function faultResponse(fault: Fault, streaming: boolean): Response | undefined {
    const retry = fault.retryAfterSeconds;
    switch (fault.mode) {
      case "rate_limit":
        return apiError(
          429,
          "You are past the per minute request limit, please wait and try again later. (simulated fault)",
          { "retry-after": String(retry) },
        );
      case "bad_request":
        return apiError(400, "invalid request: the request was refused as malformed (simulated fault)", {});
      case "unavailable":
      case "overloaded": // Cohere has no answer of its own for "overloaded": a 503 too
        return apiError(
          503,
          "service unavailable: the model is overloaded, please try again later (simulated fault)",
          retry !== undefined ? { "retry-after": String(retry) } : {},
        );
      case "stream_error": // without a stream, the error can only be the whole response
        return streaming ? undefined : serverError();
      case "server_error":
        return serverError();
      default:
        return undefined;
    }
  }

  function serverError(): Response {
    const id = crypto.randomUUID();
    return json({
      id,
      message: `internal server error, this has been reported to our developers. id ${id} (simulated fault)`,
    }, 500);
  }

  /** A 200 response whose body breaks off (used when the simulator closes mid-wait). */
  const dropped = (ctx: RequestContext) =>
    droppedResponse(ctx, baseHeaders({ "content-type": "application/json" }));

  async function chat(req: Request, ctx: RequestContext): Promise<Response> {
    const denied = authError(req);
    if (denied) return denied;
    let raw: unknown;
    try {
      raw = JSON.parse(await req.text());
    } catch {
      return invalidRequest("the request body is not valid JSON");
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      return invalidRequest("the request body must be a JSON object");
    }
    const parsed = Body.safeParse(raw, { reportInput: true });
    if (!parsed.success) return validationError(parsed.error);
    const body = parsed.data;
    const called = new Set<string>();
    for (const [i, m] of body.messages.entries()) {
      if (m.role === "assistant") { for (const c of m.tool_calls ?? []) if (c.id) called.add(c.id); }
      if (m.role === "tool" && !called.has(m.tool_call_id)) {
        return invalidRequest(`messages[${i}].tool_call_id ${m.tool_call_id} does not match any tool call`);
      }
    }
    const streaming = body.stream === true;

    const fault = faults.take(body.model);
    if (fault) {
      stats.fault(fault.mode);
      const res = faultResponse(fault, streaming);
      if (res) return res;
    }

    const gen = generate(body, opts);
    const pacing = pacingFor(opts, req.headers);
    const id = crypto.randomUUID();

    if (!streaming) {
      const call = gen.call;
      const response = {
        id,
        message: call
          ? {
            role: "assistant",
            tool_plan: call.plan.join(""),
            tool_calls: [{
              id: call.id,
              type: "function",
              function: { name: call.name, arguments: call.arguments },
            }],
          }
          : { role: "assistant", content: [{ type: "text", text: gen.text }] },
        finish_reason: fault?.mode === "early_end" ? null : gen.finishReason,
        usage: usageOf(gen),
      };
      stats.active++;
      try {
        if (fault?.mode === "stall") await untilAborted(ctx.signal);
        await sleep(pacing.firstTokenLatencyMs + gen.pieces.length * pacing.msPerToken, ctx.signal);
      } catch {
        return dropped(ctx); // the simulator is closing: drop the connection
      } finally {
        stats.active--;
      }
      if (fault?.mode === "cut_stream") {
        const text = JSON.stringify(response);
        return new Response(
          ctx.stream(async function* () {
            yield text.slice(0, Math.floor(text.length / 2));
            throw new CutStream();
          }),
          { headers: baseHeaders({ "content-type": "application/json" }) },
        );
      }
      stats.tokens(gen.billedInput, outputOf(gen));
      return json(response);
    }

    // Several tokens per content-delta when pacing is finer than 10 ms, so timers stay coarse.
    const perChunk = pacing.msPerToken > 0 && pacing.msPerToken < 10 ? Math.ceil(10 / pacing.msPerToken) : 1;
    const total = gen.pieces.length;
    const breakAt = fault ? Math.min(fault.afterTokens, total) : total;
    let streamErrored = false;
    let endedEarly = false;

    async function* frames(signal: AbortSignal): AsyncGenerator<string> {
      await sleep(pacing.firstTokenLatencyMs, signal);
      yield sseEvent({
        id,
        type: "message-start",
        delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } },
      });
      if (gen.call) {
        yield* toolCallEvents(gen.call);
        yield sseEvent({
          type: "message-end",
          delta: { finish_reason: gen.finishReason, usage: usageOf(gen) },
        });
        return;
      }
      yield sseEvent({
        type: "content-start",
        index: 0,
        delta: { message: { content: { type: "text", text: "" } } },
      });
      let sent = 0;
      while (sent < breakAt) {
        const take = Math.min(perChunk, breakAt - sent);
        if (sent > 0) await sleep(take * pacing.msPerToken, signal);
        yield sseEvent({
          type: "content-delta",
          index: 0,
          delta: { message: { content: { text: gen.pieces.slice(sent, sent + take).join("") } } },
        });
        sent += take;
      }
      if (fault?.mode === "cut_stream") throw new CutStream();
      if (fault?.mode === "stall") {
        stats.stream("stalled");
        await untilAborted(signal);
      }
      if (fault?.mode === "stream_error") {
        streamErrored = true;
        yield sseEvent({
          type: "message-end",
          delta: {
            error: "internal server error during generation (simulated fault)",
            finish_reason: "ERROR",
            usage: usageOf(gen, sent),
          },
        });
        return;
      }
      if (fault?.mode === "early_end") { // closed in good order, before content-end and message-end
        endedEarly = true;
        return;
      }
      yield sseEvent({ type: "content-end", index: 0 });
      yield sseEvent({
        type: "message-end",
        delta: { finish_reason: gen.finishReason, usage: usageOf(gen) },
      });
    }

    const stream = ctx.stream(
      frames,
      stats.streamStarted(() => streamErrored, () => [gen.billedInput, outputOf(gen)], () => endedEarly),
    );
    return new Response(stream, {
      headers: baseHeaders({ "content-type": "text/event-stream", "cache-control": "no-cache" }),
    });
  }

  return serveProvider({
    name: "cohere",
    opts,
    faults,
    stats,
    route: async (req, ctx, { pathname: path }) => {
      if (path === "/v2/chat" && req.method === "POST") return await chat(req, ctx);
      if (path === "/v2/chat") return apiError(405, `method ${req.method} not allowed for ${path}`);
      return apiError(404, `no route for ${req.method} ${path}`);
    },
    serverError: (message) => apiError(500, message),
  });
}

if (import.meta.main) {
  await runSimulatorCli("cohere", startCohereSimulator);
}
