// The streamed answer: provider events in, the answer format's events out, one by one as they
// arrive (pull-based, so a slow client slows the provider read instead of filling memory).

import { chargeFor } from "../worst-case.ts";
import { type Attempt, markBroken } from "../observability/attempts.ts";
import {
  OutOfTime,
  ProviderError,
  type ProviderEvent,
  type ToolCall,
  type ToolCallDelta,
  type Usage,
} from "../providers/types.ts";
import type { ChatContext } from "./pipeline.ts";
import { type AnswerFormat, concatBytes, type ToolCallPiece } from "./format.ts";
import { env } from "../env.ts";
import { log, redactSecrets } from "../observability/log.ts";
import type { Liveness } from "../providers/sse.ts";

const stoppedSending = (provider: string) => `${provider} stopped sending`;

// The streams in flight in this instance, each with what ends it now. When the platform retires
// the instance (Supabase's edge runtime sends `beforeunload` as a worker's wall-clock or CPU limit
// nears), each is ended as out of time, so its request is settled for what it produced rather
// than left for the sweeper to release unbilled.
const inFlight = new Set<() => void>();
addEventListener("beforeunload", () => {
  for (const cut of [...inFlight]) cut();
});

/** An SSE comment: every client's parser skips it, every proxy sees traffic. */
const HEARTBEAT = new TextEncoder().encode(": keep-alive\n\n");

export interface StreamOutcome {
  status: "complete" | "error" | "cancelled";
  text: string;
  /** Functions the model called (they are output too, though not chat-visible text). */
  toolCalls: ToolCall[];
  /** The provider's own finish reason, when it gave one. */
  finishReason: string | null;
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens, read from the provider's prompt cache; of outputTokens, spent reasoning. */
  cachedInputTokens?: number;
  reasoningTokens?: number;
  cost: string;
}

export interface StreamHooks {
  /** Called exactly once, however the stream ends. */
  onEnd(outcome: StreamOutcome): void;
  abortUpstream(): void;
  /** Usage to bill: the provider's report, else an estimate from everything produced. */
  billedUsage(reported: Usage | null, produced: string[]): Usage;
  /** When the provider's body last delivered bytes (keep-alives included), if watched. */
  liveness?: Liveness;
}

/** An id for a call the provider sent without one (Gemini): clients need one to answer it. */
export function newToolCallId(): string {
  return `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

/** The texts a list of tool calls adds to the output (for estimates). */
export function toolCallTexts(calls: ToolCall[]): string[] {
  return calls.flatMap((c) => [c.name, c.arguments]);
}

/**
 * Joins a provider's tool-call deltas into calls, and turns them into pieces every format can
 * write: the first piece of a call has its id and name, later ones argument fragments. Provider
 * indexes (which may share a space with text blocks) become 0, 1, … in order of appearance.
 */
export class ToolCallAssembler {
  readonly calls: ToolCall[] = [];
  #byIndex = new Map<number, number>();

  push(delta: ToolCallDelta): ToolCallPiece[] {
    let index = this.#byIndex.get(delta.index);
    const pieces: ToolCallPiece[] = [];
    if (index === undefined) {
      index = this.calls.length;
      this.#byIndex.set(delta.index, index);
      const call = { id: delta.id || newToolCallId(), name: delta.name ?? "", arguments: "" };
      this.calls.push(call);
      pieces.push({ index, first: true, id: call.id, name: call.name });
    }
    if (delta.arguments) {
      this.calls[index].arguments += delta.arguments;
      pieces.push({ index, first: false, arguments: delta.arguments });
    }
    return pieces;
  }
}

/** When a request must be over, whatever its provider or client does (env.maxRequestMs). */
export function requestDeadline(ctx: ChatContext): number {
  return ctx.startedAt + env.maxRequestMs;
}

/** What ends a request that reached requestDeadline (one error for all: no stack per request). */
export const OUT_OF_TIME = new OutOfTime("The answer reached the time limit of a request");

/** The answering call broke after it began (markBroken), unless our own time limit ended it. */
export function callBroke(attempts: Attempt[], e: unknown): void {
  if (!(e instanceof OutOfTime)) markBroken(attempts, e);
}

export function chatStream(
  ctx: ChatContext,
  format: AnswerFormat,
  simulated: boolean,
  events: AsyncIterable<ProviderEvent>,
  hooks: StreamHooks,
): ReadableStream<Uint8Array> {
  const iterator = events[Symbol.asyncIterator]();
  let text = "";
  /** What the model said instead of answering, if it declined. */
  let refusal = "";
  let reasoning = "";
  const citations: string[] = [];
  let finishReason: string | null = null;
  let reported: Usage | null = null;
  const tools = new ToolCallAssembler();
  let ended = false;
  /** Whether the provider has sent any output yet (text, reasoning, a tool call, citations). */
  let started = false;
  const idleMs = env.providerIdleTimeoutMs;
  const heartbeatMs = env.streamHeartbeatMs;
  const liveness = hooks.liveness ?? { at: 0 };
  // How long the provider may stay silent: once it has started, idleMs; before, as long as a
  // first byte may take (env.providerTimeoutMs), and for a reasoning model, which can think for
  // minutes before it writes, until the request's time limit. Bytes that are no event
  // (keep-alive comments, pings) count as life.
  const silenceAllowed = () =>
    started
      ? idleMs
      : ctx.model.capabilities.includes("reasoning")
      ? Infinity
      : Math.max(idleMs, env.providerTimeoutMs);

  // The next provider event, or a timeout error when the provider stays silent too long. One
  // timer serves the whole stream (a timer per event costs more than the event): when it fires
  // it fails the wait in progress if the silence has lasted too long, sends the client a
  // heartbeat if the client has heard nothing for heartbeatMs, and is set again for whichever
  // comes next; when no wait is in progress it lapses until the next one.
  let waiting: { since: number; beat: number; fail: (e: unknown) => void } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerDue = 0;
  const wakeAt = (due: number, now: number) => {
    timer = setTimeout(checkIdle, due - now);
    timerDue = due;
  };
  const checkIdle = () => {
    timer = undefined;
    if (!waiting || ended) return;
    const now = performance.now();
    const silentSince = Math.max(waiting.since, liveness.at);
    const allowed = silenceAllowed();
    if (now - silentSince >= allowed) {
      waiting.fail(new ProviderError("timeout", stoppedSending(ctx.model.provider)));
      return;
    }
    if (now - waiting.beat >= heartbeatMs && streamController) {
      streamController.enqueue(HEARTBEAT);
      waiting.beat = now;
    }
    wakeAt(Math.min(silentSince + allowed, waiting.beat + heartbeatMs), now);
  };
  const nextEvent = () =>
    new Promise<IteratorResult<ProviderEvent>>((resolve, reject) => {
      const now = performance.now();
      const wait = { since: now, beat: now, fail: reject };
      waiting = wait;
      // a timer set before the first output may be due later than this wait needs
      const due = now + Math.min(silenceAllowed(), heartbeatMs);
      if (timer === undefined || timerDue > due) {
        clearTimeout(timer);
        wakeAt(due, now);
      }
      iterator.next().then((r) => {
        if (waiting === wait) waiting = null;
        resolve(r);
      }, (e) => {
        if (waiting === wait) waiting = null;
        reject(e);
      });
    });

  // Ends the request once. Marked ended first: whatever happens computing the bill, no timer
  // or cut may end it again (an exception there must not escape a timer and kill the instance).
  const end = (status: StreamOutcome["status"]): StreamOutcome | null => {
    if (ended) return null;
    ended = true;
    clearTimeout(timer);
    clearTimeout(deadlineTimer);
    inFlight.delete(cutNow);
    const produced = [text, refusal, reasoning, ...toolCallTexts(tools.calls)];
    let usage: Usage, cost: string;
    try {
      usage = hooks.billedUsage(reported, produced);
      cost = chargeFor(ctx, usage);
    } catch (e) {
      // the provider's report could not be billed: the estimate is, and the request still ends
      log.error("billing the provider's usage report failed: estimated", { error: String(e) });
      usage = hooks.billedUsage(null, produced);
      cost = chargeFor(ctx, usage);
    }
    const outcome = {
      status,
      text: text + refusal, // what is stored: a refusal is the model's reply
      toolCalls: tools.calls,
      finishReason,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      reasoningTokens: usage.reasoningTokens,
      cost,
    };
    hooks.onEnd(outcome);
    return outcome;
  };

  // Ends the stream on a provider's failure (or the request's time limit): billed for what was
  // produced, the provider stopped, and the client told in a fixed sentence. The provider's own
  // words stay in our logs, as for errors before the stream: they can quote the request or
  // credentials.
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, e: unknown) => {
    callBroke(ctx.attempts, e);
    end("error");
    hooks.abortUpstream();
    iterator.return?.().catch(() => {});
    const timeout = e instanceof ProviderError && e.kind === "timeout";
    log.warn("provider stream error", {
      provider: ctx.model.provider,
      model: ctx.model.id,
      kind: e instanceof ProviderError ? e.kind : "broken",
      detail: redactSecrets(String(e instanceof Error ? e.message : e)).slice(0, 300),
    });
    const provider = ctx.model.provider;
    const message = e === OUT_OF_TIME
      ? OUT_OF_TIME.message
      : timeout
      ? stoppedSending(provider)
      : `${provider} stream failed`;
    for (const chunk of format.error(ctx, timeout ? "provider_timeout" : "provider_error", message)) {
      controller.enqueue(chunk);
    }
    controller.close();
  };

  // The request's time limit (env.maxRequestMs) holds even while nobody reads: a client that
  // stops reading would otherwise keep the request open until the sweeper released it unbilled.
  let streamController: ReadableStreamDefaultController<Uint8Array> | undefined;
  const cutNow = () => {
    if (ended) return;
    try {
      if (waiting) waiting.fail(OUT_OF_TIME); // the pull in progress ends the stream
      else if (streamController) fail(streamController, OUT_OF_TIME);
    } catch (e) {
      // runs from a timer or beforeunload: a throw here would end the whole instance
      log.error("cutting a stream failed", { error: String(e) });
    }
  };
  const deadlineTimer = setTimeout(cutNow, requestDeadline(ctx) - performance.now());
  inFlight.add(cutNow);

  return new ReadableStream<Uint8Array>({
    start(controller) {
      streamController = controller;
      const first = format.start(ctx, simulated);
      if (first) controller.enqueue(first);
    },

    // Each pull delivers at least one chunk: a pull that enqueued nothing would never be
    // called again (the consumer's read is still pending), so events that produce no output
    // are consumed in the same loop.
    async pull(controller) {
      try {
        while (true) {
          const next = await nextEvent();
          if (next.done) {
            const outcome = end("complete");
            if (!outcome) return; // ended meanwhile (time limit, client gone)
            for (
              const chunk of format.end(ctx, {
                ...outcome,
                text,
                refusal: refusal || null,
                reasoning: reasoning || null,
                citations,
                simulated,
              })
            ) {
              controller.enqueue(chunk);
            }
            controller.close();
            return;
          }
          const event = next.value;
          let chunk: Uint8Array | null = null;
          if (event.type === "text") {
            text += event.text;
            chunk = format.delta(ctx, event.text);
          } else if (event.type === "refusal") {
            refusal += event.text;
            chunk = format.refusal(ctx, event.text);
          } else if (event.type === "reasoning") {
            reasoning += event.text;
            chunk = format.reasoning(ctx, event.text);
          } else if (event.type === "citations") {
            for (const url of event.urls) if (!citations.includes(url)) citations.push(url);
            chunk = format.citations(ctx, event.urls);
          } else if (event.type === "tool_call") {
            const bytes = tools.push(event.call).map((piece) => format.toolCall(ctx, piece)).filter((b) =>
              b !== null
            );
            if (bytes.length) chunk = concatBytes(bytes);
          } else if (event.type === "finish") {
            finishReason = event.reason;
          } else if (event.type === "usage") {
            reported = event.usage;
          }
          if (chunk) {
            started = true;
            controller.enqueue(chunk);
            return;
          }
        }
      } catch (e) {
        if (ended) return; // the client left (cancel()) or time ran out: already ended
        fail(controller, e);
      }
    },

    cancel() {
      // The client went away: stop the provider, bill what it produced so far.
      end("cancelled");
      hooks.abortUpstream();
      iterator.return?.().catch(() => {});
    },
  }, { highWaterMark: 0 });
}
