// Faults under load (issue #8), bounded in requests and time: a provider storm, a provider hard
// down, Postgres restarted in the middle of a load, and a crowd of clients leaving mid-stream.
// After each, the ledger must be exact: every admitted request settled or released once, one
// usage record per settled request, monthly counters equal to the requests that count. After the
// restart, Realtime must broadcast from the database again (its replication stream reopened).
// The test stack runs with NEXUS_BREAKER_OPEN_MS=3000 and NEXUS_PROVIDER_TIMEOUT_MS=3000.

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { closeDatabase, database, functionsUrl, newUser, type TestUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";
import { clearFaults, setFaults, simulatorRequests } from "../support/simulator.ts";
import { assertLedgerExact } from "../support/ledger.ts";
import { startCluster, stopCluster } from "../../scripts/stack/postgres.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const BREAKER_OPEN_MS = 3_000;

async function enterpriseUsers(n: number, prefix: string): Promise<TestUser[]> {
  const users = await Promise.all(Array.from({ length: n }, () => newUser(prefix)));
  for (const u of users) await database()`select public.set_user_tier(${u.id}, 'enterprise')`;
  return users;
}

function chat(user: TestUser, body: Record<string, unknown>, signal?: AbortSignal) {
  return fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", ...body }),
    signal,
  });
}

interface Outcome {
  status: number;
  code?: string;
  model?: string;
  streamError?: string;
}

/** One request, read to the end: its status, error code, answering model, in-stream error. */
async function ask(user: TestUser, i: number, stream: boolean): Promise<Outcome> {
  const res = await chat(user, { stream, messages: [{ role: "user", content: `load ${i}` }] });
  if (res.status !== 200) {
    const body = await res.json(); // every refusal is the JSON error contract
    return { status: res.status, code: body.error?.code };
  }
  if (!stream) return { status: 200, model: (await res.json()).model };
  const out: Outcome = { status: 200 };
  for await (
    const e of res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
  ) {
    if (e.data === "[DONE]") break;
    const data = JSON.parse(e.data);
    if (data.routing) out.model = data.model;
    if (data.error) out.streamError = data.error.code;
  }
  return out;
}

/** `workers` clients sending requests one after another until `until()` says stop (or `max`). */
async function load(users: TestUser[], workers: number, until: () => boolean, max = 2_000) {
  const outcomes: Outcome[] = [];
  let n = 0;
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (!until() && n < max) {
      const i = n++;
      outcomes.push(await ask(users[w % users.length], i, i % 2 === 0));
    }
  }));
  return outcomes;
}

/**
 * Joins user:<id> and waits until Realtime says its replication connection is established;
 * resolves with a promise of the user's first `quota` broadcast (realtime.send() in the
 * settlement's transaction) from then on.
 */
async function quotaBroadcast(user: TestUser): Promise<{ next: Promise<void> }> {
  await user.client.realtime.setAuth(user.accessToken);
  const channel = user.client.channel(`user:${user.id}`, {
    config: { private: true, broadcast: { replication_ready: true } },
  });
  const next = new Promise<void>((resolve) => channel.on("broadcast", { event: "quota" }, () => resolve()));
  const ready = new Promise<void>((resolve) =>
    channel.on("system", {}, (p) => p.message === "Replication connection established" && resolve())
  );
  const status = await new Promise<string>((resolve) =>
    channel.subscribe((s) => s !== "CLOSED" && resolve(s))
  );
  assert.equal(status, "SUBSCRIBED");
  await within(15_000, "Realtime's replication connection", ready);
  return { next };
}

async function refusalCount(fn: string, reason: string): Promise<number> {
  const [{ n }] = await database()`
    select coalesce(sum(count), 0)::int as n from public.refusal_tallies
    where function_name = ${fn} and reason = ${reason}`;
  return n;
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the circuit for openai again (the next test must find the provider healthy). */
async function healthyAgain(user: TestUser) {
  await clearFaults();
  await new Promise((r) => setTimeout(r, BREAKER_OPEN_MS + 200));
  const probe = await ask(user, 0, false);
  assert.deepEqual(probe, { status: 200, model: "gpt-4o-mini" }, "the provider serves again");
}

Deno.test({
  name: "a provider storm (half the calls 429/5xx) is absorbed by retries and fallbacks; then recovery",
  ...opts,
  fn: async () => {
    const users = await enterpriseUsers(4, "storm");
    // Every other call fails, alternating 429 and 500: a plan long enough for the whole storm.
    const plan = Array.from(
      { length: 400 },
      (_, i) =>
        i % 2 === 0
          ? { mode: "none", model: "gpt-4o-mini" }
          : { mode: i % 4 === 1 ? "rate_limit" : "server_error", retryAfterSeconds: 0, model: "gpt-4o-mini" },
    );
    await setFaults(plan);
    const stormEnds = Date.now() + 8_000;
    let outcomes: Outcome[];
    try {
      outcomes = await load(users, 6, () => Date.now() > stormEnds, 240);
    } finally {
      await clearFaults();
    }
    assert.ok(outcomes.length >= 20, `a real load (${outcomes.length} requests)`);
    const failed = outcomes.filter((o) => o.status !== 200 || o.streamError);
    for (const o of failed) {
      assert.ok(
        [502, 503, 504].includes(o.status) || o.streamError,
        `a clean provider error: ${JSON.stringify(o)}`,
      );
    }
    assert.ok(!outcomes.some((o) => o.status === 500), "never an internal error");
    assert.ok(
      failed.length <= outcomes.length * 0.1,
      `retries and fallbacks absorb the storm (${failed.length} failed)`,
    );

    await healthyAgain(users[0]);
    const after = await load(users, 4, () => false, 20);
    assert.deepEqual(
      new Set(after.map((o) => `${o.status} ${o.model} ${o.streamError ?? ""}`)),
      new Set(["200 gpt-4o-mini "]),
    );

    const totals = await assertLedgerExact(users.map((u) => u.id));
    assert.equal(totals.settled + totals.released, outcomes.length + after.length + 1);
    // the attempt log has exactly one successful call per settled request, failures beside them
    const [log] = await database()`
      select count(*) filter (where a.outcome = 'ok')::int as ok,
             count(*) filter (where a.outcome in ('rate_limited', 'server_error'))::int as failed
      from public.provider_attempts a join public.requests r on r.id = a.request_id
      where r.user_id = any(${users.map((u) => u.id)}::uuid[])`;
    assert.equal(log.ok, totals.settled);
    assert.ok(log.failed > 0, "the storm's failures are in the attempt log");
  },
});

Deno.test({
  name: "a provider hard down: its circuit opens, fallbacks serve every request, then it closes again",
  ...opts,
  fn: async () => {
    const [user] = await enterpriseUsers(1, "down");
    await setFaults({ mode: "server_error", count: "always", model: "gpt-4o-mini" });
    let outcomes: Outcome[];
    let calls: number;
    try {
      outcomes = [];
      for (let i = 0; i < 8; i++) outcomes.push(await ask(user, i, i % 2 === 0));
      const before = await simulatorRequests();
      outcomes.push(await ask(user, 8, false));
      calls = await simulatorRequests() - before;
    } finally {
      await clearFaults();
    }
    for (const o of outcomes) {
      assert.equal(o.status, 200);
      assert.equal(o.streamError, undefined);
      assert.notEqual(o.model, "gpt-4o-mini", "answered by a fallback");
    }
    // once open, the dead provider is skipped: only the fallback (another openai model or
    // another provider) is called, never gpt-4o-mini's three retries
    assert.ok(calls <= 1, `the open circuit skips the provider (${calls} calls)`);
    const [{ openings }] = await database()`select count(*)::int as openings from public.breaker_openings
                                            where provider = 'openai' and opened_at > now() - interval '1 minute'`;
    assert.ok(openings >= 1, "the opening is recorded");

    await healthyAgain(user);
    await assertLedgerExact([user.id]);
  },
});

Deno.test({
  name: "Postgres restarted during a load: requests complete or fail cleanly, and the ledger is exact after",
  ...opts,
  fn: async () => {
    const users = await enterpriseUsers(4, "pgrestart");
    const stateDir = dirname(Deno.env.get("NEXUS_STACK_FILE") ?? join(".local", "test", "stack.json"));
    const dataDir = join(stateDir, "db");
    const port = Number(new URL(stack().dbUrl).port);
    let done = false;
    const refusalsBefore = await refusalCount("chat", "invalid_request");
    const running = load(users, 6, () => done, 600);
    await new Promise((r) => setTimeout(r, 1_500));
    await stopCluster(dataDir);
    // refusals need no database, and their tallies are flushed a second later: into the outage
    const refused = await Promise.all(
      Array.from(
        { length: 5 },
        () => chat(users[1], { messages: [] }).then((r) => r.body?.cancel().then(() => r.status)),
      ),
    );
    assert.deepEqual(refused, [400, 400, 400, 400, 400]);
    await new Promise((r) => setTimeout(r, 1_500));
    await startCluster(dataDir, port);
    await new Promise((r) => setTimeout(r, 2_500));
    done = true;
    const outcomes = await running;
    await closeDatabase(); // the test's own pool lost its connections too

    const statuses = new Set(outcomes.map((o) => o.status));
    for (const o of outcomes) {
      assert.ok(
        o.status === 200 || (o.status === 503 && o.code === "service_unavailable"),
        `completed, or refused cleanly while the database was away: ${JSON.stringify(o)}`,
      );
    }
    assert.ok(statuses.has(200), "requests completed");
    const quota = await quotaBroadcast(users[0]);
    const late = await ask(users[0], 0, false);
    assert.equal(late.status, 200, "served normally after the restart");
    await within(15_000, "a quota broadcast after the restart", quota.next);
    await users[0].client.removeAllChannels();

    // settlements that met the restart are retried until the database answers
    const totals = await assertLedgerExact(users.map((u) => u.id));
    assert.equal(totals.settled, outcomes.filter((o) => o.status === 200).length + 1);
    // and so are refusal tallies whose flush met it: the metrics lose no count
    const deadline = Date.now() + 15_000;
    while (await refusalCount("chat", "invalid_request") < refusalsBefore + 5) {
      assert.ok(Date.now() < deadline, "the refusals counted during the outage reached the database");
      await new Promise((r) => setTimeout(r, 200));
    }
  },
});

Deno.test({
  name: "1,000 clients leaving mid-stream: each request is settled for what it produced, or released",
  ...opts,
  fn: async () => {
    const CLIENTS = Number(Deno.env.get("NEXUS_TEST_DISCONNECTS") ?? 1000);
    const users = await enterpriseUsers(10, "leave");
    // 100 at a time: a crowd, not a flood that would time out the (simulated) provider calls
    let sawText = 0;
    let next = 0;
    await Promise.all(Array.from({ length: 100 }, async () => {
      for (let i = next++; i < CLIENTS; i = next++) await leave(i);
    }));
    async function leave(i: number) {
      const abort = new AbortController();
      const res = await chat(
        users[i % users.length],
        { messages: [{ role: "user", content: `leave ${i}` }] },
        abort.signal,
      );
      assert.equal(res.status, 200, await (res.status === 200 ? "" : res.text()));
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      // read until some text arrived, then hang up
      for (let buffered = ""; !buffered.includes('"delta"');) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
      }
      sawText++;
      abort.abort();
      await reader.cancel().catch(() => {});
    }
    assert.equal(sawText, CLIENTS);

    const totals = await assertLedgerExact(users.map((u) => u.id));
    assert.equal(totals.settled + totals.released, CLIENTS);
    const [usage] = await database()`
      select count(*)::int as records,
             count(*) filter (where u.status = 'cancelled')::int as cancelled,
             count(*) filter (where u.output_tokens > 0 and u.cost > 0)::int as billed,
             count(*) filter (where u.output_tokens >= 120)::int as full_length
      from public.usage_records u where u.user_id = any(${users.map((u) => u.id)}::uuid[])`;
    assert.equal(usage.records, totals.settled);
    assert.equal(usage.billed, usage.records, "every settled request is billed for the tokens it produced");
    assert.ok(
      usage.cancelled > usage.records * 0.9,
      `nearly all were cut short (${usage.cancelled}/${usage.records})`,
    );
    assert.ok(usage.full_length < usage.records, "not billed as if they had run to the end");
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
