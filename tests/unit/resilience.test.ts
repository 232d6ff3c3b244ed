import assert from "node:assert/strict";
import { backoffDelay, sleep } from "../../supabase/functions/_shared/resilience/backoff.ts";
import {
  breakerFor,
  CircuitBreaker,
  soonestReopening,
} from "../../supabase/functions/_shared/resilience/breaker.ts";
import { connect } from "../../supabase/functions/_shared/chat/connect.ts";
import { callProvider } from "../../supabase/functions/_shared/providers/call.ts";
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
  const call = () => breaker.allows()!;
  breaker.failure(call());
  breaker.failure(call());
  assert.equal(breaker.state, "closed");
  breaker.success(call());
  breaker.failure(call());
  breaker.failure(call());
  assert.equal(breaker.state, "closed", "a success resets the count");
  breaker.failure(call());
  assert.equal(breaker.state, "open");
  assert.equal(breaker.allows(), null);
  assert.equal(breaker.openings, 1);
  now = 999;
  assert.equal(breaker.allows(), null);
  now = 1000;
  assert.equal(breaker.state, "half_open");
  const probe = breaker.allows();
  assert.equal(probe?.probe, true, "one probe");
  assert.equal(breaker.allows(), null, "only one at a time");
  breaker.failure(probe!);
  assert.equal(breaker.state, "open", "a failed probe opens again");
  assert.equal(breaker.openings, 2);
  now = 2000;
  const second = breaker.allows()!;
  breaker.success(second);
  assert.equal(breaker.state, "closed");
  assert.equal(breaker.allows()?.probe, false);
});

Deno.test("breaker: a probe that ends without a verdict (the client left) is released for another", () => {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold: 1, openMs: 100 }, () => now);
  breaker.failure(breaker.allows()!);
  now = 100;
  const probe = breaker.allows();
  assert.ok(probe, "the probe");
  assert.equal(breaker.allows(), null);
  breaker.abandon(probe);
  assert.equal(breaker.state, "half_open", "nothing learned");
  assert.ok(breaker.allows(), "another request may probe");
});

Deno.test("breaker: news of calls that began before the opening decides nothing", () => {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold: 2, openMs: 100 }, () => now);
  const early = breaker.allows()!; // a long call, still out when the circuit opens
  const late = breaker.allows()!;
  breaker.failure(breaker.allows()!);
  breaker.failure(breaker.allows()!);
  assert.equal(breaker.state, "open");
  now = 100;
  const probe = breaker.allows()!;
  breaker.abandon(early); // its client left: it must not free the probe that is out
  assert.equal(breaker.allows(), null, "still one probe at a time");
  breaker.failure(late); // nor may its failure reopen the circuit the probe is deciding
  assert.equal(breaker.state, "half_open");
  assert.equal(breaker.openings, 1);
  breaker.success(early);
  assert.equal(breaker.state, "half_open", "nor close it");
  breaker.success(probe);
  assert.equal(breaker.state, "closed", "the probe decides");
  breaker.failure(probe); // the probe's answer broke after its headers closed the circuit
  assert.equal(breaker.state, "closed", "then it counts as one failure of a closed circuit");
  breaker.failure(breaker.allows()!);
  assert.equal(breaker.state, "open");
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
    breaker.failure(breaker.allows()!);
    assert.equal(breaker.state, "open");
    await new Promise((r) => setTimeout(r, 25));
    await assert.rejects(connect([model], request("hi"), false, new AbortController().signal), ProviderError);
    assert.equal(breaker.state, "closed", "the probe got an answer: the provider is up");

    breaker.failure(breaker.allows()!);
    await new Promise((r) => setTimeout(r, 25));
    const leaving = new AbortController();
    const probe = connect([model], request("slow"), false, leaving.signal);
    setTimeout(() => leaving.abort(), 50);
    await assert.rejects(probe);
    assert.ok(breaker.allows(), "the abandoned probe does not block the provider for good");
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
  breaker.failure(breaker.allows()!);
  assert.equal(breaker.reopensInMs, 30_000);
  now += 12_500;
  assert.equal(breaker.reopensInMs, 17_500);
  now += 17_500;
  assert.equal(breaker.state, "half_open");
  assert.equal(breaker.reopensInMs, 0);

  const a = breakerFor("test-reopen-a", { threshold: 1, openMs: 60_000 });
  const b = breakerFor("test-reopen-b", { threshold: 1, openMs: 5_000 });
  assert.equal(soonestReopening(["test-reopen-a", "test-reopen-b", "nobody"]), null, "none open");
  a.failure(a.allows()!);
  b.failure(b.allows()!);
  const soonest = soonestReopening(["test-reopen-a", "test-reopen-b", "nobody"])!;
  assert.ok(soonest > 0 && soonest <= 5_000, String(soonest));
  assert.ok(soonestReopening(["test-reopen-a"])! > 5_000);
});

/** A provider server for deepseek, mistral and xai at once: "hang" never answers, else a 400. */
async function withProviders(fn: () => Promise<void>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if ((await req.text()).includes("hang")) await new Promise((r) => setTimeout(r, 500));
    return Response.json({ error: { message: "bad", type: "invalid_request_error" } }, { status: 400 });
  });
  const names = ["DEEPSEEK", "MISTRAL", "XAI"];
  for (const p of names) {
    Deno.env.set(`${p}_BASE_URL`, `http://127.0.0.1:${server.addr.port}`);
    Deno.env.set(`${p}_API_KEY`, "test");
  }
  try {
    await fn();
  } finally {
    for (const p of names) {
      Deno.env.delete(`${p}_BASE_URL`);
      Deno.env.delete(`${p}_API_KEY`);
    }
    await server.shutdown();
  }
}

const modelOf = (provider: string) => CHAT_MODELS.find((m) => m.provider === provider)!;
const asking = (content: string) => (model: (typeof CHAT_MODELS)[number]) => ({
  model,
  messages: [{ role: "user" as const, content }],
  maxOutputTokens: 10,
});

Deno.test("connect: a request out of time calls no fallback and blames no provider", async () => {
  await withProviders(async () => {
    const attempts: Parameters<typeof connect>[4] = [];
    const models = [modelOf("deepseek"), modelOf("mistral"), modelOf("xai")];
    const before = models.map((m) => breakerFor(m.provider, { threshold: 5, openMs: 1000 }).state);
    const deadline = performance.now() + 150;
    await assert.rejects(
      connect(models, asking("hang"), true, new AbortController().signal, attempts, deadline),
      (e: ProviderError) => e.kind === "timeout",
    );
    assert.deepEqual(
      attempts.map((a) => `${a.provider} ${a.outcome}`),
      ["deepseek time_limit"],
      "the call made is logged as cut by our time limit, no failure of the provider's; no fallback was tried",
    );
    // Their breakers heard nothing: one permit each is free and a probe-less closed circuit.
    assert.deepEqual(models.map((m) => breakerFor(m.provider, { threshold: 5, openMs: 1000 }).state), before);
  });
});

Deno.test("connect: a refusal (4xx) is what the client hears, not a fallback's open circuit", async () => {
  await withProviders(async () => {
    const xai = breakerFor("xai", { threshold: 5, openMs: 60_000 });
    while (xai.state === "closed") xai.failure(xai.allows()!);
    const attempts: Parameters<typeof connect>[4] = [];
    await assert.rejects(
      connect(
        [modelOf("deepseek"), modelOf("xai")],
        asking("hi"),
        false,
        new AbortController().signal,
        attempts,
      ),
      (e: ProviderError) => e.kind === "error" && e.status === 400,
    );
    assert.deepEqual(attempts.map((a) => `${a.provider} ${a.outcome}`), [
      "deepseek client_error",
      "xai circuit_open",
    ]);
  });
});

Deno.test("callProvider: an error whose body stalls after its headers ends at the time limit, not never", async () => {
  let stalled: ReadableStreamDefaultController<Uint8Array> | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.body?.cancel();
    return new Response(
      new ReadableStream({
        start(c) {
          stalled = c;
          c.enqueue(new TextEncoder().encode('{"error":{"message":"ove'));
        },
      }),
      { status: 500 },
    );
  });
  Deno.env.set("MISTRAL_BASE_URL", `http://127.0.0.1:${server.addr.port}`);
  Deno.env.set("MISTRAL_API_KEY", "test");
  try {
    const model = modelOf("mistral");
    const call = callProvider(
      asking("hi")(model),
      false,
      new AbortController().signal,
      performance.now() + 300,
    );
    let hang: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      call.then(() => "answered", (e: ProviderError) => `${e.kind} ${e.status}`),
      new Promise((r) => hang = setTimeout(() => r("still waiting for the body"), 10_000)),
    ]);
    clearTimeout(hang);
    assert.equal(outcome, "error 500", "the status is the error; the body is not waited for");
  } finally {
    stalled?.close();
    Deno.env.delete("MISTRAL_BASE_URL");
    Deno.env.delete("MISTRAL_API_KEY");
    await server.shutdown();
  }
});
