// What each provider call of a request did, for the provider-attempt log (written with the
// request's settlement, off the hot path; see migrations/*_monitoring.sql).

import { ProviderError } from "../providers/types.ts";

export type AttemptOutcome =
  | "ok"
  | "rate_limited"
  | "overloaded"
  | "timeout"
  | "server_error"
  | "client_error"
  | "network"
  | "circuit_open"
  | "stream_error"
  /** Cut short by our own request time limit: made, but no failure of the provider's. */
  | "time_limit";

// a type (not an interface) so it is a JSON value for the database driver
export type Attempt = {
  attempt: number;
  provider: string;
  model: string;
  outcome: AttemptOutcome;
  http_status: number | null;
  latency_ms: number;
};

/** A failed call's class: what the metrics group provider errors by. */
export function outcomeOf(e: unknown): AttemptOutcome {
  if (!(e instanceof ProviderError)) return "network";
  if (e.kind === "timeout") return "timeout";
  if (e.status === 429) return "rate_limited";
  if (e.status === 503 || e.status === 529) return "overloaded";
  if (e.status === undefined) return e.kind === "unavailable" ? "network" : "server_error";
  return e.status >= 500 ? "server_error" : "client_error";
}

/**
 * A call that answered and then broke (mid-stream, or its body cut) failed all the same: its
 * attempt, logged "ok" when the answer began, takes the failure's class (a timeout, or
 * stream_error), so provider error metrics count failures after the first byte too.
 */
export function markBroken(attempts: Attempt[], e: unknown): void {
  const last = attempts.at(-1);
  if (last?.outcome !== "ok") return;
  last.outcome = e instanceof ProviderError && e.kind === "timeout" ? "timeout" : "stream_error";
}

/** The class of a request's failure, for its usage record: its last failed attempt's. */
export function errorClassOf(attempts: Attempt[]): string | null {
  const failed = attempts.filter((a) => a.outcome !== "ok");
  return failed.at(-1)?.outcome ?? null;
}
