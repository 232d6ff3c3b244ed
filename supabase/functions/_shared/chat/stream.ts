// The SSE answer of POST /chat: provider events in, the brief's events out, one by one as they
// arrive (pull-based, so a slow client slows the provider read instead of filling memory).
//
//   data: {"conversationId","messageId","model","routing"}          metadata, first
//   data: {"delta":"Hel","model":"…"}                               text, as produced
//   data: {"reasoning":"…","model":"…"}                             reasoning, where the model shows it
//   data: {"citations":["https://…"],"model":"…"}                  sources, where the provider cites them
//   data: {"cost":0.00125,"model":"…","usage":{…}}                  at the end
//   data: {"error":{"code","message"}}                              instead, if the provider fails
//   data: [DONE]

import { cost, decimalJson } from "../money.ts";
import { SSE_DONE, sseEvent } from "../http/sse.ts";
import { ProviderError, type ProviderEvent, type Usage } from "../providers/types.ts";
import type { ChatContext } from "./pipeline.ts";
import { env } from "../env.ts";

export interface StreamOutcome {
  status: "complete" | "error" | "cancelled";
  text: string;
  inputTokens: number;
  outputTokens: number;
  cost: string;
}

export interface StreamHooks {
  /** Called exactly once, however the stream ends. */
  onEnd(outcome: StreamOutcome): void;
  abortUpstream(): void;
  billedUsage(reported: Usage | null, text: string, reasoning: string): Usage;
}

export function chatStream(
  ctx: ChatContext,
  simulated: boolean,
  events: AsyncIterable<ProviderEvent>,
  hooks: StreamHooks,
): ReadableStream<Uint8Array> {
  const iterator = events[Symbol.asyncIterator]();
  const model = ctx.model.id;
  let text = "";
  let reasoning = "";
  let reported: Usage | null = null;
  let ended = false;
  const idleMs = env.providerIdleTimeoutMs;

  // The next provider event, or a timeout error when the provider goes silent mid-stream.
  const nextEvent = () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ProviderError("timeout", `${ctx.model.provider} stopped sending`)),
        idleMs,
      );
    });
    return Promise.race([iterator.next(), stalled]).finally(() => clearTimeout(timer));
  };

  const end = (status: StreamOutcome["status"]): StreamOutcome => {
    const usage = hooks.billedUsage(reported, text, reasoning);
    const outcome = {
      status,
      text,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cost: cost(ctx.model.pricing, usage),
    };
    if (!ended) {
      ended = true;
      hooks.onEnd(outcome);
    }
    return outcome;
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(sseEvent({
        conversationId: ctx.conversationId,
        messageId: ctx.messageId,
        requestId: ctx.requestId,
        model,
        simulated,
        routing: ctx.routing,
      }));
    },

    // Each pull delivers at least one chunk: a pull that enqueued nothing would never be
    // called again (the consumer's read is still pending), so events that carry no output
    // (finish reason, usage) are consumed in the same loop.
    async pull(controller) {
      try {
        while (true) {
          const next = await nextEvent();
          if (next.done) {
            const outcome = end("complete");
            controller.enqueue(sseEvent({
              cost: decimalJson(outcome.cost),
              model,
              usage: { inputTokens: outcome.inputTokens, outputTokens: outcome.outputTokens },
            }));
            controller.enqueue(SSE_DONE);
            controller.close();
            return;
          }
          const event = next.value;
          if (event.type === "text") {
            text += event.text;
            controller.enqueue(sseEvent({ delta: event.text, model }));
            return;
          }
          if (event.type === "reasoning") {
            reasoning += event.text;
            controller.enqueue(sseEvent({ reasoning: event.text, model }));
            return;
          }
          if (event.type === "citations") {
            controller.enqueue(sseEvent({ citations: event.urls, model }));
            return;
          }
          if (event.type === "usage") reported = event.usage;
        }
      } catch (e) {
        if (ended) return; // the client left; cancel() already ended the request
        end("error");
        hooks.abortUpstream();
        iterator.return?.().catch(() => {});
        const code = e instanceof ProviderError && e.kind === "timeout"
          ? "provider_timeout"
          : "provider_error";
        const message = e instanceof ProviderError ? e.message : "The provider's stream broke off";
        controller.enqueue(sseEvent({ error: { code, message } }));
        controller.enqueue(SSE_DONE);
        controller.close();
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
