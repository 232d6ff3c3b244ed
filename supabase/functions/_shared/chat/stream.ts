// The streamed answer: provider events in, the answer format's events out, one by one as they
// arrive (pull-based, so a slow client slows the provider read instead of filling memory).

import { cost } from "../money.ts";
import { ProviderError, type ProviderEvent, type Usage } from "../providers/types.ts";
import type { ChatContext } from "./pipeline.ts";
import type { AnswerFormat } from "./format.ts";
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
  format: AnswerFormat,
  simulated: boolean,
  events: AsyncIterable<ProviderEvent>,
  hooks: StreamHooks,
): ReadableStream<Uint8Array> {
  const iterator = events[Symbol.asyncIterator]();
  let text = "";
  let reasoning = "";
  const citations: string[] = [];
  let finishReason: string | null = null;
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
            for (
              const chunk of format.end(ctx, {
                ...outcome,
                reasoning: reasoning || null,
                citations,
                finishReason,
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
          } else if (event.type === "reasoning") {
            reasoning += event.text;
            chunk = format.reasoning(ctx, event.text);
          } else if (event.type === "citations") {
            for (const url of event.urls) if (!citations.includes(url)) citations.push(url);
            chunk = format.citations(ctx, event.urls);
          } else if (event.type === "finish") {
            finishReason = event.reason;
          } else if (event.type === "usage") {
            reported = event.usage;
          }
          if (chunk) {
            controller.enqueue(chunk);
            return;
          }
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
        for (const chunk of format.error(ctx, code, message)) controller.enqueue(chunk);
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
