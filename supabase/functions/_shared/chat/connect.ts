// Getting an answer started: the chosen model first, then its fallbacks, each with retries
// (exponential backoff with jitter, Retry-After honoured) behind its provider's circuit
// breaker. Only failures before the first byte are retried: once a stream has begun, the
// client has seen it, and a failure ends it with an error event instead.

import type { ChatModel } from "../catalog/index.ts";
import { env } from "../env.ts";
import { callProvider } from "../providers/call.ts";
import { ProviderError, type ProviderRequest } from "../providers/types.ts";
import { backoffDelay, sleep } from "../resilience/backoff.ts";
import { breakerFor } from "../resilience/breaker.ts";
import { type Attempt, outcomeOf } from "../observability/attempts.ts";
import { recordBreakerOpening } from "../observability/recorder.ts";

/** A provider asking to wait longer than this is treated as down for this request: fall back. */
const MAX_RETRY_WAIT_MS = 5_000;

export interface Connection {
  model: ChatModel;
  response: Response;
}

/**
 * Worth another try on the same model: rate limits, overload, 5xx and connection failures. A
 * timeout is not (the same model would likely make the client wait as long again): it goes to
 * the fallbacks at once, as do the provider's 4xx refusals.
 */
function retryable(e: ProviderError): boolean {
  if (e.kind === "timeout") return false;
  return e.kind === "unavailable" || e.status === undefined || e.status >= 500;
}

export async function connect(
  models: ChatModel[],
  request: (model: ChatModel) => ProviderRequest,
  stream: boolean,
  signal: AbortSignal,
  /** Every call made (and skipped by an open circuit) is appended here, failures included. */
  attempts: Attempt[] = [],
  /** When the request must be over (performance.now() time): no call or wait goes past it. */
  deadline = Infinity,
): Promise<Connection> {
  // Created only when needed: an Error captures a stack trace, and most requests never fail.
  let lastError: unknown;
  const note = (model: ChatModel, outcome: Attempt["outcome"], started: number, status?: number) =>
    attempts.push({
      attempt: attempts.length + 1,
      provider: model.provider,
      model: model.id,
      outcome,
      http_status: status ?? null,
      latency_ms: Math.round(performance.now() - started),
    });
  for (const model of models) {
    const breaker = breakerFor(model.provider, {
      threshold: env.breakerThreshold,
      openMs: env.breakerOpenMs,
      onOpen: () => recordBreakerOpening(model.provider),
    });
    for (let attempt = 1; attempt <= env.providerMaxAttempts; attempt++) {
      if (!breaker.allows()) {
        // Report the provider's own failure if this request saw one; else that it was skipped.
        if (attempt === 1) {
          lastError = new ProviderError("unavailable", `${model.provider} is failing; its circuit is open`);
          note(model, "circuit_open", performance.now());
        }
        break;
      }
      const started = performance.now();
      try {
        const response = await callProvider(request(model), stream, signal, deadline);
        breaker.success();
        note(model, "ok", started, response.status);
        return { model, response };
      } catch (e) {
        if (signal.aborted || !(e instanceof ProviderError)) {
          breaker.abandon();
          throw e;
        }
        note(model, outcomeOf(e), started, e.status);
        lastError = e;
        // A 4xx is the provider answering (it works; it refused this request): a probe succeeded.
        if (e.kind !== "error" || e.status === undefined || e.status >= 500) breaker.failure();
        else breaker.success();
        if (!retryable(e)) break;
        if (attempt === env.providerMaxAttempts) break;
        const wait = backoffDelay(attempt, e.retryAfterSeconds);
        if (wait > MAX_RETRY_WAIT_MS || performance.now() + wait >= deadline) break;
        await sleep(wait, signal);
      }
    }
  }
  throw lastError ?? new ProviderError("unavailable", "No provider is available");
}
