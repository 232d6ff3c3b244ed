import assert from "node:assert/strict";
import { backoffDelay, sleep } from "../../supabase/functions/_shared/resilience/backoff.ts";
import {
  breakerFor,
  CircuitBreaker,
  soonestReopening,
} from "../../supabase/functions/_shared/resilience/breaker.ts";
import { connect } from "../../supabase/functions/_shared/chat/connect.ts";
import { CHAT_MODELS } from "../../supabase/functions/_shared/catalog/index.ts";
import { ProviderError } from "../../supabase/functions/_shared/providers/types.ts";

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

Deno.test("breaker: a probe that ends without a verdict (the client left) is released for another", () => {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold: 1, openMs: 100 }, () => now);
  breaker.failure();
  now = 100;
  assert.equal(breaker.allows(), true, "the probe");
  assert.equal(breaker.allows(), false);
  breaker.abandon();
  assert.equal(breaker.state, "half_open", "nothing learned");
  assert.equal(breaker.allows(), true, "another request may probe");
});

Deno.test("connect: a half-open provider that answers 4xx is up (the circuit closes); a client leaving mid-probe frees the probe", async () => {
  // A provider that refuses every request as malformed (400), or answers slowly (for the abort).
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if ((await req.text()).includes("slow")) await new Promise((r) => setTimeout(r, 300));
    return Response.json({ error: { message: "bad", type: "invalid_request_error" } }, { status: 400 });
  });
  Deno.env.set("GROQ_BASE_URL", `http://127.0.0.1:${server.addr.port}`);
  Deno.env.set("GROQ_API_KEY", "test");
  try {
    const model = CHAT_MODELS.find((m) => m.provider === "groq")!;
    const request = (content: string) => () => ({
      model,
      messages: [{ role: "user" as const, content }],
      maxOutputTokens: 10,
    });
    const breaker = breakerFor("groq", { threshold: 1, openMs: 20 });
    breaker.failure();
    assert.equal(breaker.state, "open");
    await new Promise((r) => setTimeout(r, 25));
    await assert.rejects(connect([model], request("hi"), false, new AbortController().signal), ProviderError);
    assert.equal(breaker.state, "closed", "the probe got an answer: the provider is up");

    breaker.failure();
    await new Promise((r) => setTimeout(r, 25));
    const leaving = new AbortController();
    const probe = connect([model], request("slow"), false, leaving.signal);
    setTimeout(() => leaving.abort(), 50);
    await assert.rejects(probe);
    assert.equal(breaker.allows(), true, "the abandoned probe does not block the provider for good");
  } finally {
    Deno.env.delete("GROQ_BASE_URL");
    Deno.env.delete("GROQ_API_KEY");
    await server.shutdown();
  }
});

Deno.test("breaker: how long an open circuit stays open, and the soonest of several providers", () => {
  let now = 1_000;
  const breaker = new CircuitBreaker({ threshold: 1, openMs: 30_000 }, () => now);
  assert.equal(breaker.reopensInMs, 0, "closed");
  breaker.failure();
  assert.equal(breaker.reopensInMs, 30_000);
  now += 12_500;
  assert.equal(breaker.reopensInMs, 17_500);
  now += 17_500;
  assert.equal(breaker.state, "half_open");
  assert.equal(breaker.reopensInMs, 0);

  const a = breakerFor("test-reopen-a", { threshold: 1, openMs: 60_000 });
  const b = breakerFor("test-reopen-b", { threshold: 1, openMs: 5_000 });
  try {
    assert.equal(soonestReopening(["test-reopen-a", "test-reopen-b", "nobody"]), null, "none open");
    a.failure();
    b.failure();
    const soonest = soonestReopening(["test-reopen-a", "test-reopen-b", "nobody"])!;
    assert.ok(soonest > 0 && soonest <= 5_000, String(soonest));
    assert.ok(soonestReopening(["test-reopen-a"])! > 5_000);
  } finally {
    a.success();
    b.success();
  }
});
