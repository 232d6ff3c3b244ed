// Ending requests in batches (supabase/functions/_shared/request-endings.ts and
// public.end_requests), against the test stack's Postgres: endings that arrive while a batch is
// being written share the next one, every request still ends exactly once with exact money,
// one bad ending does not fail the others in its batch, and writing an ending again is a no-op.

import assert from "node:assert/strict";
import { closeDatabase, database, newUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";

// The functions' database pool reads this; here it is the test stack's cluster.
Deno.env.set("SUPABASE_DB_URL", stack().dbUrl);
const { EndingWriter } = await import("../../supabase/functions/_shared/request-endings.ts");
const { db } = await import("../../supabase/functions/_shared/db.ts");
const { admit, settle } = await import("../../supabase/functions/_shared/metering.ts");
const { admitOrUndo } = await import("../../supabase/functions/_shared/chat/pipeline.ts");
const { CHAT_MODELS } = await import("../../supabase/functions/_shared/catalog/index.ts");

const opts = { sanitizeOps: false, sanitizeResources: false };
const CANDIDATE = [{ model: "gpt-4o-mini", provider: "openai", worstCaseCost: "0.01" }];

async function admitted(userId: string, count: number): Promise<string[]> {
  const sql = database();
  await sql`select public.set_user_tier(${userId}, 'enterprise')`;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = crypto.randomUUID();
    const [{ r }] = await sql`select public.admit_request(${userId}, ${id}, ${sql.json(CANDIDATE)}) as r`;
    assert.equal(r.admitted, true);
    ids.push(id);
  }
  return ids;
}

const settleEnding = (requestId: string, i: number, status = "complete") => ({
  kind: "settle" as const,
  requestId,
  inputTokens: 10 + i,
  outputTokens: 20 + i,
  cost: `0.0000${i + 1}7`,
  priceVersion: "test-batch",
  latencyMs: 5,
  status,
  content: `answer ${i}`,
  messageId: crypto.randomUUID(),
  model: "gpt-4o-mini",
  provider: "openai",
  cacheHash: null,
  attempts: [{
    attempt: 1,
    provider: "openai",
    model: "gpt-4o-mini",
    outcome: "ok",
    http_status: 200,
    latency_ms: 4,
  }],
  errorClass: null,
});

const releaseEnding = (requestId: string) => ({
  kind: "release" as const,
  requestId,
  reason: "client_disconnected",
  attempts: [],
  errorClass: null,
});

Deno.test({
  name: "endings written at once share batches, and each request ends exactly once with its exact cost",
  ...opts,
  fn: async () => {
    const user = await newUser("batch");
    const ids = await admitted(user.id, 40);
    const writer = new EndingWriter();
    const endings = ids.map((id, i) => i % 2 === 0 ? settleEnding(id, i) : releaseEnding(id));
    await Promise.all(endings.map((e) => writer.write(e)));

    const sql = database();
    const rows =
      await sql`select id, status, ended_at::text as ended from public.requests where user_id = ${user.id}`;
    assert.equal(rows.length, 40);
    const byId = new Map(rows.map((r) => [r.id, r]));
    ids.forEach((id, i) => assert.equal(byId.get(id)!.status, i % 2 === 0 ? "settled" : "released"));
    // a transaction's now() is shared by everything it ends: fewer distinct end times than
    // requests means endings were written together
    const transactions = new Set(rows.map((r) => r.ended));
    assert.ok(transactions.size < 40, `40 endings in ${transactions.size} transactions`);

    const usage = await sql`select request_id, cost::text as cost, input_tokens, output_tokens
                            from public.usage_records where user_id = ${user.id}`;
    assert.equal(usage.length, 20);
    for (const u of usage) {
      const i = ids.indexOf(u.request_id);
      assert.equal(u.cost, `0.0000${i + 1}7`);
      assert.equal(u.input_tokens, 10 + i);
    }
    const [{ attempts }] = await sql`select count(*)::int as attempts from public.provider_attempts a
                                     join public.requests r on r.id = a.request_id where r.user_id = ${user.id}`;
    assert.equal(attempts, 20);

    // Written again (as after an answer lost on the way back): nothing changes.
    await Promise.all(endings.map((e) => writer.write(e)));
    const [again] = await sql`select count(*)::int as usage,
                                     (select count(*)::int from public.provider_attempts a join public.requests r
                                        on r.id = a.request_id where r.user_id = ${user.id}) as attempts
                              from public.usage_records where user_id = ${user.id}`;
    assert.deepEqual(again, { usage: 20, attempts: 20 });
  },
});

Deno.test({
  name: "a bad ending fails alone: the others in its batch are written",
  ...opts,
  fn: async () => {
    const user = await newUser("batchbad");
    const ids = await admitted(user.id, 12);
    const writer = new EndingWriter();
    // 'bogus' breaks usage_records' status check: its batch fails, then each is written alone
    const results = await Promise.allSettled(
      ids.map((id, i) => writer.write(settleEnding(id, i, i === 5 ? "bogus" : "complete"))),
    );
    assert.equal(results.filter((r) => r.status === "rejected").length, 1);
    assert.equal(results[5].status, "rejected");
    const rows = await database()`select id, status from public.requests where user_id = ${user.id}`;
    for (const r of rows) assert.equal(r.status, r.id === ids[5] ? "admitted" : "settled");
    // the refused one can still end properly
    await writer.write(releaseEnding(ids[5]));
    const [{ status }] = await database()`select status from public.requests where id = ${ids[5]}`;
    assert.equal(status, "released");
  },
});

/** A request admitted with a user message, so that its answer is stored in a conversation. */
async function admittedInConversation(userId: string): Promise<string> {
  const sql = database();
  await sql`select public.set_user_tier(${userId}, 'enterprise')`;
  const id = crypto.randomUUID();
  const [{ r }] = await sql`
    select public.admit_request(${userId}, ${id}, ${sql.json(CANDIDATE)}, false, null, 'Say it', 'T') as r`;
  assert.equal(r.admitted, true);
  return id;
}

const answer = (requestId: string, content: string) => ({
  requestId,
  messageId: crypto.randomUUID(),
  model: CHAT_MODELS.find((m) => m.id === "gpt-4o-mini")!,
  inputTokens: 7,
  outputTokens: 9,
  cost: "0.000123",
  priceVersion: "test-text",
  latencyMs: 3,
  status: "complete" as const,
  content,
});

Deno.test({
  name: "an answer with text Postgres cannot hold (NUL, a lone surrogate) is settled, its text made storable",
  ...opts,
  fn: async () => {
    const user = await newUser("nul");
    const id = await admittedInConversation(user.id);
    await settle(answer(id, "a\u0000b \ud83d end"));
    const [row] = await database()`
      select r.status, u.cost::text, m.content from public.requests r
      join public.usage_records u on u.request_id = r.id
      join public.messages m on m.request_id = r.id and m.role = 'assistant'
      where r.id = ${id}`;
    assert.deepEqual(row, { status: "settled", cost: "0.000123", content: "a\uFFFDb \uFFFD end" });
  },
});

Deno.test({
  name: "a settlement the database refuses for its text is still billed: settled without the text",
  ...opts,
  fn: async () => {
    const user = await newUser("refusedtext");
    const id = await admittedInConversation(user.id);
    const sql = database();
    // stands for anything about an answer's text the database will not take
    await sql`alter table public.messages add constraint test_refused_text check (content not like '%REFUSE-ME%')`;
    try {
      await settle(answer(id, "this answer says REFUSE-ME"));
    } finally {
      await sql`alter table public.messages drop constraint test_refused_text`;
    }
    const [row] = await sql`
      select r.status, u.cost::text, u.output_tokens,
             (select count(*)::int from public.messages m where m.request_id = r.id and m.role = 'assistant') as replies
      from public.requests r join public.usage_records u on u.request_id = r.id where r.id = ${id}`;
    assert.deepEqual(row, { status: "settled", cost: "0.000123", output_tokens: 9, replies: 0 });
  },
});

Deno.test({
  name: "an admission whose reply was lost, retried under its Idempotency-Key: released, not left in flight",
  ...opts,
  fn: async () => {
    const user = await newUser("lostreply");
    const sql = database();
    await sql`select public.set_user_tier(${user.id}, 'enterprise')`;
    const model = CHAT_MODELS.find((m) => m.id === "gpt-4o-mini")!;
    const args = (requestId: string) => ({
      userId: user.id,
      requestId,
      candidates: [{ model, maxOutputTokens: 100, worstCaseCost: "0.01" }],
      fallbacks: [],
      routed: false,
      userMessage: null,
      title: null,
      idempotencyKey: "lost-reply",
      requestHash: "same body",
    });
    // The first try commits, then its connection breaks before the reply arrives.
    let tries = 0;
    const replyLostOnce: typeof admit = async (a) => {
      const answer = await admit(a);
      if (++tries === 1) {
        throw Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" });
      }
      return answer;
    };
    const requestId = crypto.randomUUID();
    const answer = await admitOrUndo(requestId, args(requestId), replyLostOnce);
    assert.equal(answer.admitted, false, "the retry meets the first try's key");
    assert.equal(tries, 2);

    let status = "admitted";
    for (let i = 0; i < 100 && status === "admitted"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      [{ status }] = await sql`select status from public.requests where id = ${requestId}`;
    }
    assert.equal(status, "released", "nobody will answer it: released");
    const [counters] = await sql`
      select minute_count, period_requests from public.request_counters where user_id = ${user.id}`;
    assert.deepEqual(counters, { minute_count: 0, period_requests: 0 }, "its counts given back");
    const next = await admit(args(crypto.randomUUID()));
    assert.equal(next.admitted, true, "and the key is free for the client's own retry");
  },
});

Deno.test({
  name: "close the connections",
  ...opts,
  fn: async () => {
    await db().end();
    await closeDatabase();
  },
});
