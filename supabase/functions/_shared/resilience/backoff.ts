// Exponential backoff with full jitter (AWS architecture blog's "full jitter"): spreads retries
// of many clients so a recovering provider is not hit in lockstep. A provider's Retry-After wins
// when it asks for longer.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 2_000 };

/** Delay before retry number `attempt` (1 = first retry). */
export function backoffDelay(
  attempt: number,
  retryAfterSeconds?: number,
  policy = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  const jittered = Math.round(random() * ceiling);
  return retryAfterSeconds ? Math.max(jittered, retryAfterSeconds * 1000) : jittered;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
