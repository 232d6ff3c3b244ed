// A circuit breaker per provider, per function instance: after `threshold` consecutive failures
// the provider is skipped for `openMs`, then one probe request is let through (half-open); its
// success closes the circuit, its failure opens it again. Skipping a provider that is down
// saves each request the retries' wait and sends it straight to a fallback.

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerPolicy {
  threshold: number;
  openMs: number;
  /** Called each time the circuit opens (the metrics count openings). */
  onOpen?: () => void;
}

export class CircuitBreaker {
  #failures = 0;
  #openedAt = 0;
  #state: BreakerState = "closed";
  #probing = false;
  openings = 0;

  constructor(readonly policy: BreakerPolicy, private now: () => number = Date.now) {}

  get state(): BreakerState {
    if (this.#state === "open" && this.now() - this.#openedAt >= this.policy.openMs) {
      this.#state = "half_open";
    }
    return this.#state;
  }

  /** While open: milliseconds until a probe is let through again (half-open); otherwise 0. */
  get reopensInMs(): number {
    return this.state === "open" ? Math.max(0, this.policy.openMs - (this.now() - this.#openedAt)) : 0;
  }

  /** Whether a request may go to the provider now (in half-open, only one probe at a time). */
  allows(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "half_open" && !this.#probing) {
      this.#probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.#failures = 0;
    this.#probing = false;
    this.#state = "closed";
  }

  /**
   * A call that ended without saying whether the provider works (the client left, or it failed
   * on our side): a half-open probe is released, so another request may probe instead.
   */
  abandon(): void {
    this.#probing = false;
  }

  failure(): void {
    this.#probing = false;
    this.#failures++;
    if (this.#state === "half_open" || this.#failures >= this.policy.threshold) {
      const opening = this.#state !== "open";
      this.#state = "open";
      this.#openedAt = this.now();
      if (opening) {
        this.openings++;
        this.policy.onOpen?.();
      }
    }
  }
}

const breakers = new Map<string, CircuitBreaker>();

export function breakerFor(provider: string, policy: BreakerPolicy): CircuitBreaker {
  let breaker = breakers.get(provider);
  if (!breaker) breakers.set(provider, breaker = new CircuitBreaker(policy));
  return breaker;
}

/** Providers whose circuit is open right now (the router skips them). */
export function openProviders(): Set<string> {
  return new Set([...breakers].filter(([, b]) => b.state === "open").map(([p]) => p));
}

/**
 * The soonest any of these providers' open circuits lets a request through again, in ms; null
 * when none of them is open (nothing will change by waiting).
 */
export function soonestReopening(providers: Iterable<string>): number | null {
  let soonest: number | null = null;
  for (const p of new Set(providers)) {
    const b = breakers.get(p);
    if (b?.state === "open") soonest = Math.min(soonest ?? Infinity, b.reopensInMs);
  }
  return soonest;
}
