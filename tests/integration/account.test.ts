// GET/PATCH /account and GET /account/usage: the account as the user sees it, costs that are
// exact sums of the usage records, preferences that steer the router, and usage reports.

import assert from "node:assert/strict";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { toUnits } from "../../supabase/functions/_shared/money.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function call(user: TestUser, path: string, init: RequestInit = {}) {
  return fetch(functionsUrl(`account${path}`), {
    ...init,
    headers: {
      authorization: `Bearer ${user.accessToken}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
}

async function chat(user: TestUser, body: Record<string, unknown>) {
  const res = await fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ stream: false, ...body }),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

async function recordedTotal(userId: string): Promise<bigint> {
  const [row] =
    await database()`select coalesce(sum(cost), 0)::text as total from public.usage_records where user_id = ${userId}`;
  return toUnits(row.total);
}

Deno.test({
  name: "GET /account: who I am, my plan, what I have left, my preferences, what I spent",
  ...opts,
  fn: async () => {
    const user = await newUser("acct");
    const fresh = await call(user, "/");
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers.get("x-user-tier"), "free");
    const a = await fresh.json();
    assert.equal(a.user.id, user.id);
    assert.equal(a.user.email, user.email);
    assert.equal(a.subscription.tier, "free");
    assert.equal(a.subscription.status, "active");
    assert.deepEqual(a.preferences, { smartRouter: true, defaultModel: null });
    assert.equal(a.quota.monthlyQuota, 100);
    assert.equal(a.quota.remaining, 100);
    assert.equal(a.rateLimit.limit, 20);
    assert.deepEqual(a.cost, { session: 0, month: 0, total: 0, requests: 0 });

    await chat(user, { messages: [{ role: "user", content: "one" }], model: "gpt-4o-mini" });
    await chat(user, { messages: [{ role: "user", content: "two, a little longer" }], model: "gpt-4o-mini" });
    // the OpenAI-compatible surface with the same session's token counts in the session too
    const viaOpenai = await fetch(functionsUrl("openai/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "three" }] }),
    });
    assert.equal(viaOpenai.status, 200);
    await viaOpenai.body?.cancel();
    await settled(user.id);
    const b = await (await call(user, "/")).json();
    assert.equal(b.cost.requests, 3);
    assert.equal(toUnits(String(b.cost.total)), await recordedTotal(user.id), "total = sum of usage records");
    assert.equal(b.cost.session, b.cost.total, "both in this session");
    assert.equal(b.cost.month, b.cost.total);
    assert.equal(b.quota.remaining, 97);

    // A new sign-in is a new session: its cost starts at zero, the total does not.
    const { data } = await user.client.auth.signInWithPassword({
      email: user.email,
      password: user.password,
    });
    const again = { ...user, accessToken: data.session!.access_token };
    const c = await (await call(again, "/")).json();
    assert.equal(c.cost.session, 0);
    assert.equal(c.cost.total, b.cost.total);
  },
});

Deno.test({
  name:
    "PATCH /account: profile and preferences; tier and unknown fields refused; router off uses my default",
  ...opts,
  fn: async () => {
    const user = await newUser("prefs");
    const res = await call(user, "/", {
      method: "PATCH",
      body: JSON.stringify({ displayName: "Ana", smartRouter: false, defaultModel: "gpt-4o-mini" }),
    });
    assert.equal(res.status, 200);
    const a = await res.json();
    assert.equal(a.profile.displayName, "Ana");
    assert.deepEqual(a.preferences, { smartRouter: false, defaultModel: "gpt-4o-mini" });

    for (
      const bad of [{ tier: "enterprise" }, { defaultModel: "dall-e-3" }, { defaultModel: "nope" }, {}, {
        smartRouter: "yes",
      }, { avatarUrl: "javascript:alert(1)" }]
    ) {
      const r = await call(user, "/", { method: "PATCH", body: JSON.stringify(bad) });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal((await r.json()).error.code, "invalid_request");
    }
    const [sub] = await database()`select tier from public.subscriptions where user_id = ${user.id}`;
    assert.equal(sub.tier, "free", "the tier did not change");

    const answer = await chat(user, { messages: [{ role: "user", content: "who answers?" }] });
    assert.equal(answer.model, "gpt-4o-mini");
    assert.equal(answer.routing.selection, "default_model");
    await settled(user.id);
  },
});

Deno.test({
  name: "GET /account/usage: my records and exact totals, grouped and filtered; nobody else's",
  ...opts,
  fn: async () => {
    const user = await newUser("usage");
    await database()`select public.set_user_tier(${user.id}, 'pro')`;
    await chat(user, { messages: [{ role: "user", content: "a" }], model: "gpt-4o-mini" });
    await chat(user, { messages: [{ role: "user", content: "b" }], model: "gpt-4o" });
    await chat(user, { messages: [{ role: "user", content: "c" }], model: "gpt-4o-mini" });
    await settled(user.id);
    const other = await newUser("usage-other");
    await chat(other, { messages: [{ role: "user", content: "mine" }], model: "gpt-4o-mini" });
    await settled(other.id);

    const all = await (await call(user, "/usage?groupBy=model")).json();
    assert.equal(all.records.length, 3);
    assert.equal(all.totals.requests, 3);
    assert.equal(toUnits(String(all.totals.cost)), await recordedTotal(user.id));
    const byModel = Object.fromEntries(
      all.groups.map((g: { key: string; requests: number }) => [g.key, g.requests]),
    );
    assert.deepEqual(byModel, { "gpt-4o": 1, "gpt-4o-mini": 2 });
    assert.ok(all.records.every((r: { model: string }) => ["gpt-4o", "gpt-4o-mini"].includes(r.model)));

    const byDay = await (await call(user, "/usage?groupBy=day")).json();
    assert.equal(byDay.groups.length, 1);
    assert.equal(byDay.groups[0].key, new Date().toISOString().slice(0, 10));

    const future = await (await call(
      user,
      `/usage?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`,
    )).json();
    assert.equal(future.totals.requests, 0);
    assert.equal(future.totals.cost, 0);
    const limited = await (await call(user, "/usage?limit=1")).json();
    assert.equal(limited.records.length, 1);
    assert.equal(limited.totals.requests, 3, "totals ignore the page size");

    assert.equal(all.nextCursor, null, "one page holds them all");

    // Pages: the next one starts after the previous one's last record, ties in time included
    // (settlements written in one statement share their time), and totals stay whole.
    await database()`update public.usage_records set created_at = '2026-11-20T10:00:00.123456Z'
                     where user_id = ${user.id}`;
    const whole = await (await call(user, "/usage")).json();
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const r = await (await call(user, `/usage?limit=1${cursor ? `&before=${cursor}` : ""}`)).json();
      assert.equal(r.totals.requests, 3, "totals are the range's, not the page's");
      seen.push(...r.records.map((x: { requestId: string }) => x.requestId));
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    assert.equal(cursor, null, "the last page says so");
    assert.deepEqual(
      seen,
      whole.records.map((x: { requestId: string }) => x.requestId),
      "every record once, in the same order as one page",
    );
    assert.equal(new Set(seen).size, 3);
    for (const bad of ["?groupBy=week", "?limit=0", "?from=yesterday", "?surprise=1", "?before=12.x"]) {
      const r = await call(user, `/usage${bad}`);
      assert.equal(r.status, 400, bad);
      await r.body?.cancel();
    }
  },
});

Deno.test({
  name:
    "a deleted user's still-valid token: every read and write of account, models and conversations is 401",
  ...opts,
  fn: async () => {
    const ghost = await newUser("ghost-reads");
    // Things to find by id afterwards (deleted with the user, but the ids are real).
    const conversation = await (await fetch(functionsUrl("conversations"), {
      method: "POST",
      headers: { authorization: `Bearer ${ghost.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "soon gone" }),
    })).json();
    const key = await (await call(ghost, "/keys", { method: "POST", body: JSON.stringify({ name: "gone" }) }))
      .json();
    await database()`delete from auth.users where id = ${ghost.id}`;

    const requests: [string, string, unknown?][] = [
      ["GET", "account"],
      ["GET", "account/usage"],
      ["GET", "account/usage?groupBy=day"],
      ["GET", "account/keys"],
      ["DELETE", `account/keys/${key.id}`],
      ["GET", "models"],
      ["GET", "conversations"],
      ["GET", `conversations/${conversation.id}/messages`],
      ["GET", `conversations/${conversation.id}/members`],
      ["PATCH", `conversations/${conversation.id}`, { title: "x" }],
      ["DELETE", `conversations/${conversation.id}`],
      ["DELETE", `conversations/${conversation.id}/members/${ghost.id}`],
    ];
    for (const [method, path, body] of requests) {
      const res = await fetch(functionsUrl(path), {
        method,
        headers: { authorization: `Bearer ${ghost.accessToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const answer = await res.json();
      assert.equal(res.status, 401, `${method} /${path}: ${JSON.stringify(answer)}`);
      assert.deepEqual(answer.error, { code: "unauthorized", message: "Unknown user" }, `${method} /${path}`);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/, `${method} /${path}`);
    }
  },
});

Deno.test({
  name:
    "account edges: hidden characters in names, a default model outside the plan, times by instant, big sums",
  ...opts,
  fn: async () => {
    const user = await newUser("edges");
    const patch = async (body: unknown) => {
      const res = await call(user, "", { method: "PATCH", body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    };
    for (const displayName of ["Ana\u202e nimda", "zero\u200bwidth", "bell\u0007"]) {
      const refused = await patch({ displayName });
      assert.equal(refused.status, 400, JSON.stringify(displayName));
      assert.match(refused.body.error.message, /control or invisible characters/);
    }
    const notInPlan = await patch({ defaultModel: "claude-opus-4-1", smartRouter: false });
    assert.equal(notInPlan.status, 400, "a free user's default must be a model of the free plan");
    assert.match(notInPlan.body.error.message, /not available on the free plan/);
    assert.equal((await patch({ defaultModel: "gpt-4o-mini" })).status, 200);
    const [profile] =
      await database()`select display_name, default_model from public.profiles where id = ${user.id}`;
    assert.equal(profile.default_model, "gpt-4o-mini");

    // from/to are instants, whatever their offsets
    const usage = async (query: string) => (await call(user, `/usage?${query}`)).status;
    const q = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    assert.equal(
      await usage(q("2026-01-01T10:00:00+05:00", "2026-01-01T06:00:00Z")),
      200,
      "05:00Z before 06:00Z",
    );
    assert.equal(
      await usage(q("2026-01-01T06:00:00Z", "2026-01-01T10:00:00+05:00")),
      400,
      "06:00Z after 05:00Z",
    );
    assert.equal(await usage(q("2026-01-01T06:00:00Z", "2026-01-01T06:00:00.5Z")), 200);

    // token sums beyond 32 bits
    await chat(user, { messages: [{ role: "user", content: "count me" }], model: "gpt-4o-mini" });
    await chat(user, { messages: [{ role: "user", content: "and me" }], model: "gpt-4o-mini" });
    await settled(user.id);
    await database()`update public.usage_records set input_tokens = 1200000000 where user_id = ${user.id}`;
    const big = await call(user, "/usage?groupBy=model");
    assert.equal(big.status, 200);
    const report = await big.json();
    assert.equal(report.totals.inputTokens, 2_400_000_000);
    assert.equal(report.groups[0].inputTokens, 2_400_000_000);
  },
});

Deno.test({
  name:
    "API keys: at most 50 at once; a malformed id is a 404; a revoked key is forgotten at its first refusal",
  ...opts,
  fn: async () => {
    const user = await newUser("keys-edges");
    const create = (name: string) => call(user, "/keys", { method: "POST", body: JSON.stringify({ name }) });
    const first = await (await create("first")).json();
    for (let i = 1; i < 50; i++) assert.equal((await create(`k${i}`)).status, 201);
    const over = await create("one too many");
    assert.equal(over.status, 409);
    assert.match((await over.json()).error.message, /50 API keys/);
    for (const id of ["-".repeat(36), "a".repeat(36)]) {
      const res = await call(user, `/keys/${id}`, { method: "DELETE" });
      assert.equal(res.status, 404, id);
      await res.body?.cancel();
    }

    const completions = (body: string) =>
      fetch(functionsUrl("openai/chat/completions"), {
        method: "POST",
        headers: { authorization: `Bearer ${first.key}`, "content-type": "application/json" },
        body,
      });
    const ask = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const ok = await completions(ask);
    assert.equal(ok.status, 200, "the key works (and this instance now knows it)");
    await ok.body?.cancel();
    const revoked = await call(user, `/keys/${first.id}`, { method: "DELETE" });
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    const refused = await completions(ask);
    assert.equal(refused.status, 401, "admission refuses the revoked key");
    await refused.body?.cancel();
    const garbage = await completions("{not json");
    assert.equal(garbage.status, 401, "then it is unknown again: refused before its body is read");
    await garbage.body?.cancel();
    await settled(user.id);
  },
});

Deno.test({
  name: "GET /account/usage by API key: each record names its key; filtered and grouped by key",
  ...opts,
  fn: async () => {
    const user = await newUser("usage-keys");
    const key = await (await call(user, "/keys", { method: "POST", body: JSON.stringify({ name: "sdk" }) }))
      .json();
    const viaKey = await fetch(functionsUrl("openai/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "by key" }] }),
    });
    assert.equal(viaKey.status, 200);
    await viaKey.body?.cancel();
    await chat(user, { messages: [{ role: "user", content: "by session" }], model: "gpt-4o-mini" });
    await settled(user.id);

    const all = await (await call(user, "/usage?groupBy=key")).json();
    assert.deepEqual(
      all.records.map((r: { apiKeyId: string | null }) => r.apiKeyId).sort(),
      [key.id, null].sort(),
      "each record names the key it was asked with (null: a signed-in session)",
    );
    assert.deepEqual(all.groups.map((g: { key: string | null; requests: number }) => [g.key, g.requests]), [
      [key.id, 1],
      [null, 1],
    ]);
    const mine = await (await call(user, `/usage?keyId=${key.id}`)).json();
    assert.equal(mine.totals.requests, 1);
    assert.equal(mine.records[0].apiKeyId, key.id);
    const other = await newUser("usage-keys-other");
    const theirs = await (await call(other, `/usage?keyId=${key.id}`)).json();
    assert.equal(theirs.totals.requests, 0, "another user's key shows nothing of it");
    const bad = await call(user, "/usage?keyId=sdk");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
