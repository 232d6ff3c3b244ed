// Provider faults and client disconnects during a chat: the client sees a clean error, and the
// database ends every admitted request exactly once, billed for what was produced. The test
// stack runs with NEXUS_PROVIDER_TIMEOUT_MS=3000 and NEXUS_PROVIDER_IDLE_TIMEOUT_MS=2000.

import assert from "node:assert/strict";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";
import { clearFaults, setFaults, simulatorRequests } from "../support/simulator.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function simulator(): string {
  return (stack() as unknown as { simulators: Record<string, string> }).simulators.openai;
}

async function fault(rule: Record<string, unknown>) {
  const res = await fetch(new URL("/__simulator/faults", simulator()), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...rule, model: "gpt-4o-mini" }),
  });
  assert.equal(res.ok, true);
  await res.body?.cancel();
}

function chat(user: TestUser, body: Record<string, unknown>, signal?: AbortSignal, headers = {}) {
  return fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "gpt-4o-mini", ...body }),
    signal,
  });
}

async function events(res: Response) {
  const out: Record<string, unknown>[] = [];
  for await (
    const e of res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
  ) {
    out.push(e.data === "[DONE]" ? { done: true } : JSON.parse(e.data));
  }
  return out;
}

async function onlyRequest(userId: string) {
  await settled(userId);
  const [request] = await database()`select * from public.requests where user_id = ${userId}`;
  const usage = await database()`select * from public.usage_records where user_id = ${userId}`;
  return { request, usage };
}

Deno.test({
  name: "a stream cut mid-way ends with an error event and is billed for what was produced",
  ...opts,
  fn: async () => {
    const user = await newUser("cut");
    await fault({ mode: "cut_stream", afterTokens: 6 });
    const res = await chat(user, { messages: [{ role: "user", content: "cut me off" }] });
    assert.equal(res.status, 200);
    const got = await events(res);
    const text = got.filter((e) => "delta" in e).map((e) => e.delta).join("");
    assert.ok(text.length > 0, "some text arrived before the cut");
    const error = got.find((e) => "error" in e)?.error as { code: string };
    assert.equal(error.code, "provider_error");
    assert.deepEqual(got.at(-1), { done: true });

    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "settled");
    assert.equal(usage.length, 1);
    assert.equal(usage[0].status, "error");
    assert.ok(usage[0].output_tokens > 0, "billed for the produced tokens");
    assert.ok(Number(usage[0].cost) > 0, "never $0 for produced output");
    const [message] =
      await database()`select content, status from public.messages where request_id = ${request.id} and role = 'assistant'`;
    assert.equal(message.content, text);
    assert.equal(message.status, "error");
  },
});

Deno.test({
  name: "a stream that stalls is ended with provider_timeout and billed for what was produced",
  ...opts,
  fn: async () => {
    const user = await newUser("stall");
    await fault({ mode: "stall", afterTokens: 4 });
    const res = await chat(user, { messages: [{ role: "user", content: "then go quiet" }] });
    const got = await events(res);
    assert.equal((got.find((e) => "error" in e)?.error as { code: string }).code, "provider_timeout");
    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "settled");
    assert.equal(usage[0].status, "error");
    assert.ok(usage[0].output_tokens > 0);
  },
});

Deno.test({
  name: "a provider that never answers: 504 provider_timeout, request released",
  ...opts,
  fn: async () => {
    const user = await newUser("silent");
    await fault({ mode: "stall" });
    const res = await chat(user, {
      messages: [{ role: "user", content: "hello?" }],
      stream: false,
      fallback: false,
      // a whole answer is waited for in proportion to its size: 25 tokens add one second
      maxTokens: 25,
    });
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, "provider_timeout");
    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "released");
    assert.equal(usage.length, 0);
    await fetch(new URL("/__simulator/faults", simulator()), { method: "DELETE" }).then((r) =>
      r.body?.cancel()
    );
  },
});

Deno.test({
  name:
    "a client that leaves before the provider's first byte: released as client_disconnected, not a provider error",
  ...opts,
  fn: async () => {
    const user = await newUser("early-leaver");
    await fault({ mode: "stall" });
    try {
      const leaving = new AbortController();
      const asked = chat(user, {
        messages: [{ role: "user", content: "wait" }],
        stream: false,
        fallback: false,
      }, leaving.signal);
      setTimeout(() => leaving.abort(), 300);
      await assert.rejects(asked);
      let request: Record<string, unknown> = { status: "admitted" };
      for (let i = 0; i < 100 && request.status === "admitted"; i++) {
        await new Promise((r) => setTimeout(r, 50));
        [request] =
          await database()`select status, release_reason from public.requests where user_id = ${user.id}`;
      }
      assert.deepEqual(request, { status: "released", release_reason: "client_disconnected" });
    } finally {
      await clearFaults();
    }
  },
});

Deno.test({
  name:
    "a client that disconnects mid-stream: upstream stopped, billed for the tokens produced; its retry is answered afresh",
  ...opts,
  fn: async () => {
    const user = await newUser("leaver");
    const abort = new AbortController();
    const ask = { messages: [{ role: "user", content: "a long answer please" }], maxTokens: 400 };
    const key = { "idempotency-key": "leaver-1" };
    const res = await chat(user, ask, abort.signal, key);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
      .getReader();
    let deltas = 0;
    while (deltas < 3) {
      const { value } = await reader.read();
      if (value && value.data.includes('"delta"')) deltas++;
    }
    abort.abort();
    await reader.cancel().catch(() => {});

    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "settled");
    assert.equal(usage.length, 1);
    assert.equal(usage[0].status, "cancelled");
    assert.ok(
      usage[0].output_tokens > 0 && usage[0].output_tokens < 400,
      `billed ${usage[0].output_tokens} produced tokens, not the budget`,
    );
    assert.ok(Number(usage[0].cost) > 0);

    // The retry under the same Idempotency-Key gets a whole answer, not the broken one replayed.
    const retry = await chat(user, { ...ask, stream: false }, undefined, key);
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get("idempotent-replayed"), null);
    assert.ok((await retry.json()).content.length > 0);
    await settled(user.id);
    const statuses = await database()`
      select status from public.usage_records where user_id = ${user.id} order by created_at`;
    assert.deepEqual(
      statuses.map((r) => r.status),
      ["cancelled", "complete"],
      "each charged once, as what it was",
    );
  },
});

Deno.test({
  name: "a 429 before the first byte is retried with backoff, then succeeds; billed once",
  ...opts,
  fn: async () => {
    const user = await newUser("retry");
    const before = await simulatorRequests();
    await fault({ mode: "rate_limit", count: 1, retryAfterSeconds: 1 });
    const res = await chat(user, { messages: [{ role: "user", content: "try again" }], stream: false });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.model, "gpt-4o-mini");
    assert.equal(await simulatorRequests() - before, 2, "one refused attempt, one answered");
    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "settled");
    assert.equal(usage.length, 1);
    // the provider-attempt log and the usage record say how it went
    assert.equal(usage[0].retries, 1);
    assert.equal(usage[0].error_class, null, "it ended well");
    const attempts =
      await database()`select attempt, provider, outcome, http_status from public.provider_attempts
                                      where request_id = ${request.id} order by attempt`;
    assert.deepEqual(attempts.map((a) => ({ ...a })), [
      { attempt: 1, provider: "openai", outcome: "rate_limited", http_status: 429 },
      { attempt: 2, provider: "openai", outcome: "ok", http_status: 200 },
    ]);
  },
});

Deno.test({
  name:
    "a provider that refuses the request itself: 502 that tells SDKs not to retry; a provider that says when: Retry-After",
  ...opts,
  fn: async () => {
    const user = await newUser("refused");
    try {
      await fault({ mode: "bad_request", count: "always" });
      const before = await simulatorRequests();
      const refused = await chat(user, {
        messages: [{ role: "user", content: "x" }],
        stream: false,
        fallback: false,
      });
      assert.equal(refused.status, 502);
      assert.equal((await refused.json()).error.code, "provider_error");
      assert.equal(refused.headers.get("x-should-retry"), "false", "the same request would be refused again");
      assert.equal(await simulatorRequests() - before, 1, "and the gateway did not retry it either");

      await fault({ mode: "unavailable", count: "always", retryAfterSeconds: 30 });
      const busy = await chat(user, {
        messages: [{ role: "user", content: "x" }],
        stream: false,
        fallback: false,
      });
      assert.equal(busy.status, 503);
      assert.equal((await busy.json()).error.code, "provider_unavailable");
      assert.equal(busy.headers.get("retry-after"), "30", "the provider's own wait, passed on");
      assert.equal(busy.headers.get("x-should-retry"), null);
    } finally {
      await clearFaults();
    }
  },
});

Deno.test({
  name:
    "Gemini's 429 says when in its body (RetryInfo, no header): the wait is honoured before the retry, and passed on",
  ...opts,
  fn: async () => {
    const user = await newUser("gemini-retry");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const ask = () =>
      chat(user, {
        model: "gemini-2.0-flash",
        messages: [{ role: "user", content: "when may I come back?" }],
        stream: false,
        fallback: false,
      });
    const rule = { mode: "rate_limit", model: "gemini-2.0-flash" };
    try {
      // A wait longer than a retry may take: 503 with the provider's own wait as Retry-After.
      await setFaults({ ...rule, count: "always", retryAfterSeconds: 30 }, "gemini");
      const busy = await ask();
      assert.equal(busy.status, 503);
      assert.equal((await busy.json()).error.code, "provider_unavailable");
      assert.equal(busy.headers.get("retry-after"), "30", "RetryInfo's 30s, passed on");
      // A short one: waited for (backoff alone would retry within 200 ms), then answered.
      await setFaults({ ...rule, count: 1, retryAfterSeconds: 2 }, "gemini");
      const started = performance.now();
      const answered = await ask();
      assert.equal(answered.status, 200);
      await answered.body?.cancel();
      assert.ok(performance.now() - started >= 2000, `retried after ${performance.now() - started} ms`);
    } finally {
      await clearFaults("gemini");
    }
    await settled(user.id);
  },
});

Deno.test({
  name: "a model whose provider keeps failing falls back to a similar model the plan allows",
  ...opts,
  fn: async () => {
    const user = await newUser("fallback");
    await database()`select public.set_user_tier(${user.id}, 'pro')`;
    await fault({ mode: "server_error", count: "always" }); // gpt-4o-mini only (see fault())
    try {
      const res = await chat(user, { messages: [{ role: "user", content: "anyone there?" }] });
      assert.equal(res.status, 200);
      const got = await events(res);
      const meta = got[0] as { model: string; routing: { fallbackFrom?: string } };
      assert.notEqual(meta.model, "gpt-4o-mini");
      assert.equal(meta.routing.fallbackFrom, "gpt-4o-mini");
      const { request, usage } = await onlyRequest(user.id);
      assert.equal(request.status, "settled");
      assert.equal(usage[0].model, meta.model, "billed as the model that answered");
      assert.equal(request.model, meta.model);
    } finally {
      await clearFaults();
    }
  },
});

Deno.test({
  name: "the circuit opens after repeated failures (provider skipped), and closes after a good probe",
  ...opts,
  fn: async () => {
    const user = await newUser("breaker");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const ask = () =>
      chat(user, { messages: [{ role: "user", content: "x" }], stream: false, fallback: false });
    await fault({ mode: "server_error", count: "always" });
    try {
      // Failing requests (3 attempts each) until the 5th consecutive failure opens the circuit;
      // earlier tests may have left some failures on the count, so at most two requests.
      let opened = false;
      for (let i = 0; i < 2 && !opened; i++) {
        const before = await simulatorRequests();
        const r = await ask();
        assert.equal(r.status, 502, "the provider's own failure is reported");
        await r.body?.cancel();
        opened = await simulatorRequests() - before < 3; // the breaker cut the retries short
      }
      assert.ok(opened, "the circuit opened within 5 failures");
      const before = await simulatorRequests();
      const skipped = await ask();
      assert.equal(skipped.status, 503, "circuit open: provider_unavailable");
      assert.match((await skipped.json()).error.message, /circuit/);
      assert.equal(await simulatorRequests(), before, "the provider was not called");
      // recorded: the opening, and the skipped request's attempt, released with its reason
      await settled(user.id);
      const [skippedRow] = await database()`select id, status, release_reason from public.requests
                                            where id = ${skipped.headers.get("x-request-id")}`;
      assert.deepEqual({ ...skippedRow, id: undefined }, {
        id: undefined,
        status: "released",
        release_reason: "provider_error",
      });
      const attempts = await database()`select outcome, http_status from public.provider_attempts
                                        where request_id = ${skippedRow.id}`;
      assert.deepEqual(attempts.map((a) => ({ ...a })), [{ outcome: "circuit_open", http_status: null }]);
      const [{ openings }] = await database()`select count(*)::int as openings from public.breaker_openings
                                              where provider = 'openai' and opened_at > now() - interval '1 minute'`;
      assert.ok(openings >= 1, "the opening was recorded");
    } finally {
      await clearFaults();
    }
    await new Promise((r) => setTimeout(r, 3200)); // NEXUS_BREAKER_OPEN_MS in the test stack
    const probe = await ask();
    assert.equal(probe.status, 200, "half-open probe succeeds and closes the circuit");
    await probe.body?.cancel();
    const after = await ask();
    assert.equal(after.status, 200);
    await after.body?.cancel();
    await settled(user.id);
  },
});

Deno.test({
  name: "answers that begin and then break count as failures: the circuit opens (it saw only good headers)",
  ...opts,
  fn: async () => {
    const user = await newUser("breaker-broken");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const ask = () =>
      chat(user, { messages: [{ role: "user", content: "x" }], stream: true, fallback: false });
    await fault({ mode: "cut_stream", afterTokens: 2, count: "always" });
    try {
      let skipped: Response | undefined;
      for (let i = 0; i < 7 && !skipped; i++) {
        const r = await ask();
        if (r.status === 503) skipped = r;
        else {
          assert.equal(r.status, 200, "each answer begins (headers, then a few tokens)");
          const got = await events(r);
          assert.ok(got.some((e) => "error" in e), "and breaks");
        }
      }
      assert.ok(skipped, "the circuit opened within the threshold (5) of broken answers");
      assert.match((await skipped.json()).error.message, /circuit/);
    } finally {
      await clearFaults();
    }
    await settled(user.id);
    const broken = await database()`select count(*)::int as n from public.provider_attempts a
                                    join public.requests r on r.id = a.request_id
                                    where r.user_id = ${user.id} and a.outcome = 'stream_error'`;
    assert.ok(broken[0].n >= 1, "logged as stream_error");
    await new Promise((r) => setTimeout(r, 3200)); // NEXUS_BREAKER_OPEN_MS in the test stack
    const probe = await ask();
    assert.equal(probe.status, 200);
    assert.ok(!(await events(probe)).some((e) => "error" in e), "a whole answer: the circuit closes");
    await settled(user.id);
  },
});

Deno.test({
  name: "Idempotency-Key: a retry replays the answer and is charged once; in flight 409; another body 409",
  ...opts,
  fn: async () => {
    const user = await newUser("idem");
    const send = (key: string, content: string, stream = false) =>
      fetch(functionsUrl("chat"), {
        method: "POST",
        headers: {
          authorization: `Bearer ${user.accessToken}`,
          "content-type": "application/json",
          "idempotency-key": key,
        },
        body: JSON.stringify({ model: "gpt-4o-mini", stream, messages: [{ role: "user", content }] }),
      });
    const first = await send("key-1", "exactly once");
    assert.equal(first.status, 200);
    const a = await first.json();
    await settled(user.id);
    const again = await send("key-1", "exactly once");
    assert.equal(again.status, 200);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    const b = await again.json();
    assert.equal(b.content, a.content);
    assert.equal(b.messageId, a.messageId);
    assert.equal(b.cost, a.cost);
    const replayedStream = await events(await send("key-1", "exactly once", true));
    assert.equal(replayedStream.filter((e) => "delta" in e).map((e) => e.delta).join(""), a.content);

    const other = await send("key-1", "something else");
    assert.equal(other.status, 409);
    await other.body?.cancel();

    // two at once: one runs, the other is told it is in flight
    const [x, y] = await Promise.all([send("key-2", "concurrent", true), send("key-2", "concurrent", true)]);
    const statuses = [x.status, y.status].sort();
    assert.deepEqual(statuses, [200, 409]);
    const [ran, refused] = x.status === 200 ? [x, y] : [y, x];
    assert.match((await refused.json()).error.message, /in progress/);
    await events(ran); // read to the end: the running request completes
    await settled(user.id);

    const [{ n }] =
      await database()`select count(*)::int as n from public.usage_records where user_id = ${user.id}`;
    assert.equal(n, 2, "key-1 once, key-2 once");
    const [c] =
      await database()`select period_requests from public.request_counters where user_id = ${user.id}`;
    assert.equal(c.period_requests, 2, "replays and refusals do not count");
    const bad = await send("bad key with spaces", "x");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  },
});

Deno.test({
  name: "response cache: an identical temperature-0 request is served from cache at $0, still rate-counted",
  ...opts,
  fn: async () => {
    const user = await newUser("cache");
    const ask = () =>
      chat(user, {
        messages: [{ role: "user", content: "deterministic please" }],
        temperature: 0,
        stream: false,
      });
    const first = await ask();
    const a = await first.json();
    assert.equal(first.headers.get("x-cache"), null);
    await settled(user.id);
    const before = await simulatorRequests();
    const second = await ask();
    assert.equal(second.status, 200);
    assert.equal(second.headers.get("x-cache"), "HIT");
    const b = await second.json();
    assert.equal(b.content, a.content);
    assert.equal(b.cost, 0);
    assert.equal(b.cached, true);
    assert.equal(await simulatorRequests(), before, "the provider was not called");
    assert.equal(
      second.headers.get("x-ratelimit-remaining"),
      "18",
      "a cache hit counts against the rate limit",
    );
    const records =
      await database()`select status, cost::text as cost from public.usage_records where user_id = ${user.id} order by created_at`;
    assert.deepEqual(records.map((r) => r.status), ["complete", "cached"]);
    assert.equal(records[1].cost, "0");
    // streamed hits and opt-outs
    const streamed = await events(
      await chat(user, { messages: [{ role: "user", content: "deterministic please" }], temperature: 0 }),
    );
    assert.equal(streamed.filter((e) => "delta" in e).map((e) => e.delta).join(""), a.content);
    const optOut = await chat(user, {
      messages: [{ role: "user", content: "deterministic please" }],
      temperature: 0,
      cache: false,
      stream: false,
    });
    assert.equal(optOut.headers.get("x-cache"), null);
    await optOut.body?.cancel();
    await settled(user.id);
  },
});

Deno.test({
  name: "a provider's error mid-stream reaches the client as a fixed sentence, never in the provider's words",
  ...opts,
  fn: async () => {
    const user = await newUser("stream-error");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    // The three wire formats whose stream errors carry the provider's own message.
    const cases = [
      { provider: "openai", model: "gpt-4o-mini", apiModel: "gpt-4o-mini" },
      { provider: "gemini", model: "gemini-2.0-flash", apiModel: "gemini-2.0-flash" },
      { provider: "cohere", model: "command-r7b", apiModel: "command-r7b-12-2024" },
    ];
    for (const c of cases) {
      await setFaults({ mode: "stream_error", afterTokens: 2, count: 1, model: c.apiModel }, c.provider);
      try {
        const res = await chat(user, {
          model: c.model,
          fallback: false,
          messages: [{ role: "user", content: `fail mid-way, ${c.provider}` }],
        });
        assert.equal(res.status, 200, c.provider);
        const got = await events(res);
        assert.ok(got.some((e) => "delta" in e), `${c.provider}: text arrived before the error`);
        const error = got.find((e) => "error" in e)?.error as { code: string; message: string };
        assert.deepEqual(error, { code: "provider_error", message: `${c.provider} stream failed` });
        assert.deepEqual(got.at(-1), { done: true });
        // Nothing of the simulator's wording anywhere in what the client received.
        const received = JSON.stringify(got.filter((e) => !("delta" in e)));
        assert.doesNotMatch(
          received,
          /simulated fault|server had an error|internal server error/i,
          c.provider,
        );
      } finally {
        await clearFaults(c.provider);
      }
    }
    const { length } = await database()`select 1 from public.requests where user_id = ${user.id}`;
    assert.equal(length, cases.length);
    await settled(user.id);
    // the call that broke is a provider error in the attempt log (and so in the metrics), not "ok"
    const attempts = await database()`
      select a.provider, a.outcome, u.error_class from public.provider_attempts a
      join public.requests r on r.id = a.request_id
      join public.usage_records u on u.request_id = r.id
      where r.user_id = ${user.id} order by a.provider`;
    assert.deepEqual(
      attempts.map((a) => [a.provider, a.outcome, a.error_class]),
      cases.map((c) => [c.provider, "stream_error", "stream_error"]).sort(),
    );
  },
});

Deno.test({
  name:
    "a stream that ends cleanly before its finish reason is a provider error: billed as produced, never complete, never cached",
  ...opts,
  fn: async () => {
    const user = await newUser("early-end");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    // Each wire format, its body closed in good order after a few tokens, with no finish.
    const cases = [
      { provider: "openai", model: "gpt-4o-mini", apiModel: "gpt-4o-mini" },
      { provider: "perplexity", model: "sonar", apiModel: "sonar" },
      { provider: "gemini", model: "gemini-2.0-flash", apiModel: "gemini-2.0-flash" },
      { provider: "anthropic", model: "claude-haiku-4-5", apiModel: "claude-haiku-4-5-20251001" },
      { provider: "cohere", model: "command-r7b", apiModel: "command-r7b-12-2024" },
    ];
    for (const c of cases) {
      // temperature 0: a whole answer to this request would be cached
      const ask = () =>
        chat(user, {
          model: c.model,
          fallback: false,
          temperature: 0,
          messages: [{ role: "user", content: `end early, ${c.provider}` }],
        });
      await setFaults({ mode: "early_end", afterTokens: 4, count: 1, model: c.apiModel }, c.provider);
      try {
        const got = await events(await ask());
        const text = got.filter((e) => "delta" in e).map((e) => e.delta).join("");
        assert.ok(text.length > 0, `${c.provider}: text arrived before the end`);
        const error = got.find((e) => "error" in e)?.error as { code: string };
        assert.equal(error?.code, "provider_error", `${c.provider}: ${JSON.stringify(got.at(-2))}`);
        assert.ok(!got.some((e) => "cost" in e), `${c.provider}: no completion event`);
        assert.deepEqual(got.at(-1), { done: true });
      } finally {
        await clearFaults(c.provider);
      }
      await settled(user.id);
      const [usage] = await database()`
        select u.status, u.output_tokens from public.usage_records u join public.requests r on r.id = u.request_id
        where r.user_id = ${user.id} and r.model = ${c.model} order by u.created_at desc limit 1`;
      assert.equal(usage.status, "error", `${c.provider}: billed as broken, not complete`);
      assert.ok(usage.output_tokens > 0, `${c.provider}: billed for what was produced`);

      // Not cached: the same request again goes to the provider and gets the whole answer.
      const before = await simulatorRequests(c.provider);
      const again = await ask();
      assert.equal(again.headers.get("x-cache"), null, `${c.provider}: not served from the cache`);
      const whole = await events(again);
      assert.ok(whole.some((e) => "cost" in e), `${c.provider}: the retry is answered whole`);
      assert.equal(await simulatorRequests(c.provider) - before, 1, c.provider);
      await settled(user.id);
    }
    const cached = await database()`select model from public.response_cache where user_id = ${user.id}`;
    assert.deepEqual(
      cached.map((r) => r.model).sort(),
      cases.map((c) => c.model).sort(),
      "only the whole answers were cached",
    );

    // Not streamed: the whole JSON answer, but without its finish reason, is answered and not cached.
    const plain = () =>
      chat(user, {
        model: "gpt-4o-mini",
        stream: false,
        fallback: false,
        temperature: 0,
        messages: [{ role: "user", content: "no finish reason, not streamed" }],
      });
    await setFaults({ mode: "early_end", count: 1, model: "gpt-4o-mini" });
    try {
      const first = await plain();
      assert.equal(first.status, 200);
      assert.equal((await first.json()).finishReason, null);
    } finally {
      await clearFaults();
    }
    await settled(user.id);
    const second = await plain();
    assert.equal(second.headers.get("x-cache"), null, "an answer without a finish reason is not cached");
    await second.body?.cancel();
    await settled(user.id);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
