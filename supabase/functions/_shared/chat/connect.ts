// Getting an answer started: the chosen model first, then its fallbacks, each with retries
// (exponential backoff with jitter, Retry-After honoured) behind its provider's circuit
// breaker. Only failures before the first byte are retried: once a stream has begun, the
// client has seen it, and a failure ends it with an error event instead.

import type { ChatModel } from "../catalog/index.ts";
import { env } from "../env.ts";
import { callProvider } from "../providers/call.ts";
import { OutOfTime, ProviderError, type ProviderRequest } from "../providers/types.ts";
import { backoffDelay, sleep } from "../resilience/backoff.ts";
import { breakerFor } from "../resilience/breaker.ts";
import { type Attempt, outcomeOf } from "../observability/attempts.ts";
import { recordBreakerOpening } from "../observability/recorder.ts";

/** A provider asking to wait longer than this is treated as down for this request: fall back. */
const MAX_RETRY_WAIT_MS = 5_000;

export interface Connection {
  model: ChatModel;
  response: Response;
  /**
   * Tells the provider's breaker how the answer ended, once: "ok" (whole), "failed" (the
   * provider broke it after it began), "unknown" (the client left, or our own time limit).
   * Only a probe is judged by its headers; other calls count when their answer ends, so a
   * provider that starts answers and then breaks them opens its circuit too.
   */
  ended(how: "ok" | "failed" | "unknown"): void;
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
      // Out of time is the request's end, not the next provider's failure: no call, no blame.
      if (performance.now() >= deadline) return noTimeLeft(lastError);
      const permit = breaker.allows();
      if (!permit) {
        // Report the provider's own failure if this request saw one; else that it was skipped.
        if (attempt === 1) {
          lastError ??= new ProviderError("unavailable", `${model.provider} is failing; its circuit is open`);
          note(model, "circuit_open", performance.now());
        }
        break;
      }
      const started = performance.now();
      try {
        const response = await callProvider(request(model), stream, signal, deadline);
        if (permit.probe) breaker.success(permit);
        note(model, "ok", started, response.status);
        let told = false;
        const ended = (how: "ok" | "failed" | "unknown") => {
          if (told) return;
          told = true;
          if (how === "ok") breaker.success(permit);
          else if (how === "failed") breaker.failure(permit);
          else breaker.abandon(permit);
        };
        return { model, response, ended };
      } catch (e) {
        if (signal.aborted || !(e instanceof ProviderError)) {
          breaker.abandon(permit);
          throw e;
        }
        if (e instanceof OutOfTime) {
          // the wait was cut by the request's time limit: logged as made, the provider not blamed
          note(model, "time_limit", started);
          breaker.abandon(permit);
          return noTimeLeft(lastError ?? e);
        }
        note(model, outcomeOf(e), started, e.status);
        lastError = e;
        // A 4xx is the provider answering (it works; it refused this request): a probe succeeded.
        if (e.kind !== "error" || e.status === undefined || e.status >= 500) breaker.failure(permit);
        else breaker.success(permit);
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

/** The request's time is up: its last provider failure if it had one, else a timeout. */
function noTimeLeft(lastError: unknown): never {
  throw lastError ??
    new ProviderError("timeout", "The request reached its time limit before a provider answered");
}
