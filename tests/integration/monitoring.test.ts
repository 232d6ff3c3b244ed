// Monitoring (issue #8): every answer carries X-Request-Id, every function logs JSON lines with
// it, and GET /functions/v1/admin/metrics (admin only) reports what Postgres recorded in
// Prometheus's text format, whichever function instance served the requests.

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A model no other test uses, so its counters move only with this file's requests.
const MODEL = "ministral-8b";

function chat(user: TestUser, body: unknown) {
  return fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function metrics(token: string | null) {
  return fetch(functionsUrl("admin/metrics"), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** Prometheus text → sample name with labels → value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await metrics(stack().serviceRoleKey);
  assert.equal(res.status, 200);
  return parse(await res.text());
}

/**
 * The first JSON log line mentioning `id` that `match` accepts, waiting up to 5 s for it (the test
 * stack writes its processes' output to .local/<name>-stack.log).
 */
async function logLine(
  id: string,
  match: (json: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  const stateDir = dirname(Deno.env.get("NEXUS_STACK_FILE") ?? ".local/test/stack.json");
  const logFile = join(dirname(stateDir), `${stateDir.split("/").at(-1)}-stack.log`);
  for (let i = 0; i < 50; i++) {
    for (const line of Deno.readTextFileSync(logFile).split("\n").filter((l) => l.includes(id))) {
      const json = JSON.parse(line.slice(line.indexOf("{")));
      if (match(json)) return json;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls the metrics until `check` holds (refusals are flushed a second after they happen). */
async function eventually(check: (m: Map<string, number>) => boolean): Promise<Map<string, number>> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const m = await scrape();
    if (check(m) || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test({
  name: "every function's answers carry a distinct X-Request-Id; a chat's is its requests row's id",
  ...opts,
  fn: async () => {
    const user = await newUser("reqid");
    const auth = { authorization: `Bearer ${user.accessToken}` };
    const answers = [
      await chat(user, { model: "gpt-4o-mini", stream: false, messages: [{ role: "user", content: "hi" }] }),
      await chat(user, { messages: [] }), // 400
      await fetch(functionsUrl("models"), { headers: auth }),
      await fetch(functionsUrl("account"), { headers: auth }),
      await fetch(functionsUrl("conversations"), { headers: auth }),
      await fetch(functionsUrl("openai/models"), { headers: auth }),
      await fetch(functionsUrl("account")), // 401
      await metrics(null), // 401
      await fetch(functionsUrl("chat"), { // a CORS preflight
        method: "OPTIONS",
        headers: { origin: "https://app.example", "access-control-request-method": "POST" },
      }),
    ];
    const ids = answers.map((r) => r.headers.get("x-request-id") ?? "");
    for (const [i, id] of ids.entries()) assert.match(id, UUID, `answer ${i} has a request id`);
    assert.equal(new Set(ids).size, ids.length, "each request has its own id");
    assert.deepEqual(answers.map((r) => r.status), [200, 400, 200, 200, 200, 200, 401, 401, 204]);
    await Promise.all(answers.map((r) => r.body?.cancel()));

    await settled(user.id);
    const [row] = await database()`select id, status from public.requests where user_id = ${user.id}`;
    assert.equal(row.id, ids[0]);
    assert.equal(row.status, "settled");
  },
});

Deno.test({
  name: "functions log one JSON line per request, tagged with the function and the request id",
  ...opts,
  fn: async () => {
    const user = await newUser("logs");
    const res = await chat(user, { messages: [{ role: "x", content: "" }] });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    const id = res.headers.get("x-request-id")!;

    const entry = await logLine(id, (json) => json.msg === "request");
    assert.ok(entry, "the request's log line is written");
    assert.equal(entry.level, "info");
    assert.equal(entry.fn, "chat");
    assert.equal(entry.requestId, id);
    assert.equal(entry.status, 400);
    assert.equal(entry.method, "POST");
    assert.equal(entry.userId, user.id);
    assert.ok(!Number.isNaN(Date.parse(String(entry.ts))));
  },
});

Deno.test({
  name: "GET /admin/metrics is for administrators: service-role key or an admin user; others 401/403",
  ...opts,
  fn: async () => {
    const user = await newUser("notadmin");
    const anonymous = await metrics(null);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error.code, "unauthorized");
    const plain = await metrics(user.accessToken);
    assert.equal(plain.status, 403);
    assert.equal((await plain.json()).error.code, "forbidden");
    const anonKey = await metrics(stack().anonKey);
    assert.equal(anonKey.status, 401, "the publishable key is not a user, let alone an admin");
    await anonKey.body?.cancel();

    // Only the service role can make someone an admin (app_metadata), then a new token says so.
    await database()`update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role":"admin"}'
                     where id = ${user.id}`;
    const { data, error } = await user.client.auth.signInWithPassword({
      email: user.email,
      password: user.password,
    });
    assert.equal(error, null);
    const admin = await metrics(data.session!.access_token);
    assert.equal(admin.status, 200);
    assert.match(admin.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    assert.match(await admin.text(), /# TYPE nexus_requests_total counter/);
  },
});

Deno.test({
  name: "metrics count requests, latency, cost, tokens and refusals from what Postgres recorded",
  ...opts,
  fn: async () => {
    const user = await newUser("metrics");
    await database()`select public.set_user_tier(${user.id}, 'pro')`;
    const before = await scrape();
    const requests = `nexus_requests_total{provider="mistral",model="${MODEL}",outcome="complete"}`;
    const refusals = `nexus_refusals_total{function="chat",reason="unknown_model"}`;

    for (let i = 0; i < 2; i++) {
      const res = await chat(user, {
        model: MODEL,
        stream: i === 0,
        messages: [{ role: "user", content: `n${i}` }],
      });
      assert.equal(res.status, 200);
      await res.text();
    }
    const refused = await chat(user, { model: "no-such-model", messages: [{ role: "user", content: "?" }] });
    assert.equal(refused.status, 400);
    await refused.body?.cancel();
    await settled(user.id);

    const after = await eventually((m) => (m.get(refusals) ?? 0) > (before.get(refusals) ?? 0));
    assert.equal((after.get(requests) ?? 0) - (before.get(requests) ?? 0), 2);
    assert.ok((after.get(refusals) ?? 0) - (before.get(refusals) ?? 0) >= 1);

    // the histogram is consistent with itself and grew by our two answers (at least)
    const count = "nexus_request_duration_seconds_count";
    assert.ok(after.get(count)! - before.get(count)! >= 2);
    assert.equal(after.get('nexus_request_duration_seconds_bucket{le="+Inf"}'), after.get(count));
    const buckets = [...after].filter(([k]) => k.startsWith("nexus_request_duration_seconds_bucket"));
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], "cumulative");

    // cost: exactly what the usage records of the model sum to, digits as stored
    const [{ usd }] =
      await database()`select sum(cost)::text as usd from public.usage_records where model = ${MODEL}`;
    const res = await metrics(stack().serviceRoleKey);
    const line = (await res.text()).split("\n").find((l) =>
      l.startsWith(`nexus_cost_usd_total{provider="mistral",model="${MODEL}"}`)
    );
    assert.equal(line?.split(" ").at(-1), usd);
  },
});

Deno.test({
  name: "an idempotent replay answers with the original request's id, and its access line names it",
  ...opts,
  fn: async () => {
    const user = await newUser("replaylog");
    const ask = () =>
      fetch(functionsUrl("chat"), {
        method: "POST",
        headers: {
          authorization: `Bearer ${user.accessToken}`,
          "content-type": "application/json",
          "idempotency-key": "replay-log-1",
        },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          stream: false,
          messages: [{ role: "user", content: "once" }],
        }),
      });
    const first = await ask();
    await first.body?.cancel();
    await settled(user.id);
    const replay = await ask();
    await replay.body?.cancel();
    const id = first.headers.get("x-request-id")!;
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.equal(replay.headers.get("x-request-id"), id, "the client sees the original id");

    const entry = await logLine(id, (json) => json.msg === "request" && json.replayOf === id);
    assert.ok(entry, "the replay's access line names the id the client was given");
    assert.notEqual(entry.requestId, id, "while keeping its own");
  },
});

Deno.test({
  name: "a request to no endpoint is a refusal like any other 4xx (not_found), in the metrics",
  ...opts,
  fn: async () => {
    const refusals = `nexus_refusals_total{function="models",reason="not_found"}`;
    const before = await scrape();
    const res = await fetch(functionsUrl("models/no/such/endpoint"));
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const after = await eventually((m) => (m.get(refusals) ?? 0) > (before.get(refusals) ?? 0));
    assert.equal((after.get(refusals) ?? 0) - (before.get(refusals) ?? 0), 1);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
