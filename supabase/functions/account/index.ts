// GET/PATCH /functions/v1/account and GET /functions/v1/account/usage: who I am, my plan and
// what I have left, my preferences, and what I spent (sums of my usage records, exact).

import { createApp, requireUser } from "../_shared/http/app.ts";
import { parse, readJson } from "../_shared/http/validate.ts";
import { ApiError } from "../_shared/http/errors.ts";
import { type QuotaSnapshot, userContextHeaders } from "../_shared/http/user-context.ts";
import { asUser, db } from "../_shared/db.ts";
import { decimalJson } from "../_shared/money.ts";
import { cursorOf, olderThan, pageOf } from "../_shared/http/keyset.ts";
import { AccountPatch, NewApiKey, UsageQuery } from "../_shared/account/schema.ts";
import { newApiKey } from "../_shared/auth/api-keys.ts";
import { asKnownUser, knownUserQuota } from "../_shared/auth/known-user.ts";
import { isUuid } from "../_shared/auth/verify.ts";
import { findModel } from "../_shared/catalog/index.ts";

const app = createApp("account");
const EARLIEST_TIMESTAMP = Date.parse("0001-01-01T00:00:00Z");
const LATEST_TIMESTAMP = Date.parse("9999-12-31T23:59:59.999Z");

interface Summary {
  quota: QuotaSnapshot;
  cost: { total: string; month: string; session: string; requests: number };
  [key: string]: unknown;
}

async function summary(userId: string, sessionId?: string): Promise<Summary> {
  const [row] = await db()`select public.account_summary(${userId}, ${sessionId ?? null}) as a`;
  if (!row.a) throw new ApiError("unauthorized", "Unknown user");
  return row.a as Summary;
}

/** The account in the API's shape: money as exact JSON numbers, limits as the headers say them. */
function present(a: Summary) {
  const q = a.quota;
  return {
    ...a,
    quota: {
      monthlyQuota: q.monthlyQuota,
      used: q.monthUsed,
      remaining: q.monthRemaining,
      periodStart: q.periodStart,
      periodEnd: q.periodEnd,
    },
    rateLimit: { limit: q.requestsPerMinute, remaining: q.minuteRemaining, resetAt: q.minuteResetAt },
    plan: { tier: q.tier, maxCostPerRequest: q.maxCostPerRequest },
    cost: {
      session: decimalJson(a.cost.session),
      month: decimalJson(a.cost.month),
      total: decimalJson(a.cost.total),
      requests: a.cost.requests,
    },
  };
}

app.get("/", requireUser, async (c) => {
  const user = c.get("user");
  const a = await summary(user.sub, user.session_id);
  return c.json(present(a), 200, userContextHeaders(a.quota));
});

app.patch("/", requireUser, async (c) => {
  const user = c.get("user");
  const patch = await readJson(c.req.raw, AccountPatch);
  if (patch.defaultModel) {
    // a default the plan does not allow would be passed over for the router without a word
    const { tier } = await knownUserQuota(user.sub);
    if (!(findModel(patch.defaultModel)!.tiers as readonly string[]).includes(tier)) {
      const message = `${patch.defaultModel} is not available on the ${tier} plan`;
      throw new ApiError("invalid_request", `Invalid request: defaultModel: ${message}`, [
        { field: "defaultModel", message },
      ]);
    }
  }
  // As the user, so RLS and the column grants decide what may change.
  await asUser(user, (sql) => {
    const set: Record<string, unknown> = {};
    if (patch.displayName !== undefined) set.display_name = patch.displayName;
    if (patch.avatarUrl !== undefined) set.avatar_url = patch.avatarUrl;
    if (patch.smartRouter !== undefined) set.smart_router = patch.smartRouter;
    if (patch.defaultModel !== undefined) set.default_model = patch.defaultModel;
    return sql`update public.profiles set ${sql(set)} where id = ${user.sub}`;
  });
  const a = await summary(user.sub, user.session_id);
  return c.json(present(a), 200, userContextHeaders(a.quota));
});

app.get("/usage", requireUser, async (c) => {
  const user = c.get("user");
  const q = parse(UsageQuery, Object.fromEntries(new URL(c.req.url).searchParams));
  // First: a deleted user's still-valid token is a 401, not an empty history.
  const quota = await knownUserQuota(user.sub);
  // The driver sends a timestamp as Date#toISOString (UTC): before year 0001 that is year 0000
  // or a negative year, after 9999 a six-digit one, and Postgres fails the query on either (a 500).
  for (const field of ["from", "to"] as const) {
    const at = q[field] === undefined ? undefined : Date.parse(q[field]);
    if (at !== undefined && !(at >= EARLIEST_TIMESTAMP && at <= LATEST_TIMESTAMP)) {
      const message = "must be between 0001-01-01 and 9999-12-31 (UTC)";
      throw new ApiError("invalid_request", `Invalid request: ${field}: ${message}`, [{ field, message }]);
    }
  }
  const from = q.from ?? null;
  const to = q.to ?? null;
  const { page, nextCursor, totals, groups } = await asUser(user, async (sql) => {
    const keyId = q.keyId?.toLowerCase() ?? null;
    const inRange = sql`(${from}::timestamptz is null or created_at >= ${from}::timestamptz)
                    and (${to}::timestamptz is null or created_at < ${to}::timestamptz)
                    and (${keyId}::uuid is null or api_key_id = ${keyId}::uuid)`;
    const rows = await sql`
      select request_id, model, provider, input_tokens, output_tokens, cost::text as cost, status,
             latency_ms, price_version, api_key_id, created_at,
             ${cursorOf(sql, sql`created_at`, sql`request_id`)} as cursor
      from public.usage_records
      where ${inRange} and ${olderThan(sql, sql`created_at`, sql`request_id`, q.before)}
      order by created_at desc, request_id desc limit ${q.limit + 1}`;
    const [totals] = await sql`
      select count(*)::int as requests, coalesce(sum(input_tokens), 0)::float8 as input_tokens,
             coalesce(sum(output_tokens), 0)::float8 as output_tokens, coalesce(sum(cost), 0)::text as cost
      from public.usage_records
      where ${inRange}`;
    // by key: the key's id, or null for what was asked with a signed-in session
    const key = q.groupBy === "model"
      ? sql`model`
      : q.groupBy === "key"
      ? sql`api_key_id`
      : sql`to_char(created_at at time zone 'utc', 'YYYY-MM-DD')`;
    const groups = q.groupBy
      ? await sql`
          select ${key} as key, count(*)::int as requests, sum(input_tokens)::float8 as input_tokens,
                 sum(output_tokens)::float8 as output_tokens, sum(cost)::text as cost
          from public.usage_records
          where ${inRange}
          group by 1 order by 1`
      : [];
    return { ...pageOf(rows, q.limit), totals, groups };
  });
  const money = <T extends { cost: string }>(r: T) => ({ ...r, cost: decimalJson(r.cost) });
  const camel = (r: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k.replace(/_([a-z])/g, (_, l) => l.toUpperCase()), v]),
    );
  return c.json(
    {
      records: page.map((r) => camel(money(r as unknown as { cost: string }))),
      nextCursor,
      totals: camel(money(totals as unknown as { cost: string })),
      ...(q.groupBy
        ? { groupBy: q.groupBy, groups: groups.map((g) => camel(money(g as unknown as { cost: string }))) }
        : {}),
    },
    200,
    userContextHeaders(quota),
  );
});

// ---- API keys (managed with a signed-in session; a key cannot manage keys) --------------------

/** Active keys a user may hold at once (each is a standing credential to watch over). */
const MAX_KEYS = 50;

app.post("/keys", requireUser, async (c) => {
  const user = c.get("user");
  const body = await readJson(c.req.raw, NewApiKey);
  const quota = await knownUserQuota(user.sub);
  const { key, prefix, hash } = await newApiKey();
  const [row] = await asKnownUser(db()`
    insert into public.api_keys (user_id, name, prefix, key_hash, monthly_budget)
    select ${user.sub}, ${body.name}, ${prefix}, ${hash}, ${body.monthlyBudgetUsd ?? null}
    where (select count(*) from public.api_keys where user_id = ${user.sub} and revoked_at is null) < ${MAX_KEYS}
    returning id, name, prefix, monthly_budget::text as monthly_budget, created_at`);
  if (!row) {
    throw new ApiError(
      "conflict",
      `You have ${MAX_KEYS} API keys: revoke one before creating another`,
      undefined,
      {
        ...userContextHeaders(quota),
      },
    );
  }
  return c.json({ ...presentKey({ ...row, period_spend: "0" }), key }, 201, userContextHeaders(quota));
});

app.get("/keys", requireUser, async (c) => {
  const user = c.get("user");
  const quota = await knownUserQuota(user.sub); // a deleted user: 401, not an empty list
  const rows = await asUser(
    user,
    (sql) =>
      sql`select id, name, prefix, monthly_budget::text as monthly_budget, period_start, period_spend::text as period_spend,
               reserved_spend::text as reserved_spend, created_at, last_used_at, revoked_at
        from public.api_keys where revoked_at is null order by created_at desc`,
  );
  return c.json({ data: rows.map(presentKey) }, 200, userContextHeaders(quota));
});

app.delete("/keys/:id", requireUser, async (c) => {
  const user = c.get("user");
  const id = c.req.param("id");
  const quota = await knownUserQuota(user.sub);
  const rows = isUuid(id)
    ? await db()`update public.api_keys set revoked_at = now()
                 where id = ${id} and user_id = ${user.sub} and revoked_at is null returning id`
    : [];
  if (!rows.length) throw new ApiError("not_found", "No such API key");
  return c.json({ id, revoked: true }, 200, userContextHeaders(quota));
});

function presentKey(row: Record<string, unknown>) {
  const period = new Date().toISOString().slice(0, 7);
  const current = !row.period_start ||
    String(row.period_start instanceof Date ? row.period_start.toISOString() : row.period_start).startsWith(
      period,
    );
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    monthlyBudgetUsd: row.monthly_budget === null ? null : decimalJson(String(row.monthly_budget)),
    spendThisMonthUsd: decimalJson(current ? String(row.period_spend ?? "0") : "0"),
    // worst cases held by the key's requests in flight (counted against the budget until they end)
    reservedUsd: decimalJson(String(row.reserved_spend ?? "0")),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at ?? null,
  };
}

Deno.serve(app.fetch);
