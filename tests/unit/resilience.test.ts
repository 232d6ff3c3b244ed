import assert from "node:assert/strict";
import { backoffDelay, sleep } from "../../supabase/functions/_shared/resilience/backoff.ts";
import { CircuitBreaker } from "../../supabase/functions/_shared/resilience/breaker.ts";

Deno.test("backoff: full jitter under an exponential ceiling, Retry-After honoured", () => {
  const policy = { baseMs: 100, maxMs: 1000 };
  assert.equal(backoffDelay(1, undefined, policy, () => 0.999), 100);
  assert.equal(backoffDelay(3, undefined, policy, () => 0.5), 200);
  assert.equal(backoffDelay(10, undefined, policy, () => 1), 1000, "capped");
  assert.equal(backoffDelay(1, undefined, policy, () => 0), 0, "full jitter reaches zero");
  assert.equal(backoffDelay(1, 2, policy, () => 0.5), 2000, "the provider's Retry-After wins when longer");
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, undefined, policy)));
  assert.ok(spread.size > 10, "jitter spreads retries");
});

Deno.test("sleep is cancelled by its signal", async () => {
  const abort = new AbortController();
  const slept = sleep(10_000, abort.signal);
  abort.abort(new Error("client left"));
  await assert.rejects(slept, /client left/);
});

Deno.test("breaker: opens after the threshold, half-opens after the wait, one probe decides", () => {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold: 3, openMs: 1000 }, () => now);
  breaker.failure();
  breaker.failure();
  assert.equal(breaker.state, "closed");
  breaker.success();
  breaker.failure();
  breaker.failure();
  assert.equal(breaker.state, "closed", "a success resets the count");
  breaker.failure();
  assert.equal(breaker.state, "open");
  assert.equal(breaker.allows(), false);
  assert.equal(breaker.openings, 1);
  now = 999;
  assert.equal(breaker.allows(), false);
  now = 1000;
  assert.equal(breaker.state, "half_open");
  assert.equal(breaker.allows(), true, "one probe");
  assert.equal(breaker.allows(), false, "only one at a time");
  breaker.failure();
  assert.equal(breaker.state, "open", "a failed probe opens again");
  assert.equal(breaker.openings, 2);
  now = 2000;
  assert.equal(breaker.allows(), true);
  breaker.success();
  assert.equal(breaker.state, "closed");
  assert.equal(breaker.allows(), true);
});
