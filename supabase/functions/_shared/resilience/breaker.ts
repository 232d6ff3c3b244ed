// A circuit breaker per provider, per function instance: after `threshold` consecutive failures
// the provider is skipped for `openMs`, then one probe request is let through (half-open); its
// success closes the circuit, its failure opens it again. Skipping a provider that is down
// saves each request the retries' wait and sends it straight to a fallback. A call's success
// or failure is reported with the permit it was given (see Permit).

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerPolicy {
  threshold: number;
  openMs: number;
  /** Called each time the circuit opens (the metrics count openings). */
  onOpen?: () => void;
}

/**
 * Leave to call the provider, from allows(): how the call went is reported with it. A call that
 * began before the circuit last opened no longer counts (its news is older than the opening),
 * and only the holder of the half-open probe decides the probe.
 */
export interface Permit {
  /** The opening the call began after (0: none yet). */
  readonly epoch: number;
  /** Whether this call is the half-open probe (until its success decides it). */
  probe: boolean;
}

export class CircuitBreaker {
  #failures = 0;
  #openedAt = 0;
  #state: BreakerState = "closed";
  #probing = false;
  #epoch = 0;
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

  /** Leave to call the provider now, or null (open; or half-open with its one probe out). */
  allows(): Permit | null {
    const state = this.state;
    if (state === "closed") return { epoch: this.#epoch, probe: false };
    if (state === "half_open" && !this.#probing) {
      this.#probing = true;
      return { epoch: this.#epoch, probe: true };
    }
    return null;
  }

  /** The provider answered: a probe closes the circuit, any answer ends the run of failures. */
  success(permit: Permit): void {
    if (permit.epoch !== this.#epoch) return;
    if (permit.probe) this.#probing = permit.probe = false; // decided: later news counts as any call's
    this.#failures = 0;
    this.#state = "closed";
  }

  /**
   * A call that ended without saying whether the provider works (the client left, our own time
   * limit, a failure on our side): a half-open probe is given back, so another request may probe.
   */
  abandon(permit: Permit): void {
    if (permit.probe && permit.epoch === this.#epoch) this.#probing = false;
  }

  failure(permit: Permit): void {
    if (permit.epoch !== this.#epoch) return;
    this.#failures++;
    if (permit.probe || this.#failures >= this.policy.threshold) {
      this.#state = "open";
      this.#openedAt = this.now();
      this.#epoch++; // calls still out began before this opening: their news no longer counts
      this.#probing = false;
      this.openings++;
      this.policy.onOpen?.();
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
