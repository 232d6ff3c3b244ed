// The OpenAI-compatible surface with platform API keys, judged by the official `openai` SDK:
// key lifecycle (shown once, stored hashed, listed, budget, revoked), completions with and
// without streaming, usage and cost, the models list, and the SDK's error classes.

import assert from "node:assert/strict";
import OpenAI from "openai";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { hashApiKey } from "../../supabase/functions/_shared/auth/api-keys.ts";
import { assertLedgerExact } from "../support/ledger.ts";
import { clearFaults, setFaults } from "../support/simulator.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

async function createKey(user: TestUser, body: Record<string, unknown>) {
  const res = await fetch(functionsUrl("account/keys"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
  return await res.json() as { id: string; key: string; prefix: string; name: string };
}

const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: functionsUrl("openai"), maxRetries: 0 });

Deno.test({
  name: "API keys: shown once, stored only as a hash, listed without the secret, revoked at once",
  ...opts,
  fn: async () => {
    const user = await newUser("keys");
    const created = await createKey(user, { name: "ci", monthlyBudgetUsd: 5 });
    assert.match(created.key, /^nx_[A-Za-z0-9_-]{43}$/);
    assert.ok(created.key.startsWith(created.prefix));
    const [row] = await database()`select key_hash from public.api_keys where id = ${created.id}`;
    assert.notEqual(row.key_hash, created.key);
    assert.equal(row.key_hash, await hashApiKey(created.key));

    const list = await (await fetch(functionsUrl("account/keys"), {
      headers: { authorization: `Bearer ${user.accessToken}` },
    })).json();
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0].prefix, created.prefix);
    assert.equal(list.data[0].monthlyBudgetUsd, 5);
    assert.ok(!JSON.stringify(list).includes(created.key), "the key is never shown again");

    const client = sdk(created.key);
    const answer = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(answer.object, "chat.completion");
    await settled(user.id);
    const [usage] = await database()`select api_key_id from public.usage_records where user_id = ${user.id}`;
    assert.equal(usage.api_key_id, created.id, "usage records carry the key");

    const revoked = await fetch(functionsUrl(`account/keys/${created.id}`), {
      method: "DELETE",
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      (e) => e instanceof OpenAI.AuthenticationError && e.status === 401,
    );
    await assert.rejects(sdk("nx_not-a-real-key").models.list(), OpenAI.AuthenticationError);
  },
});

Deno.test({
  name:
    "completions through the openai SDK: JSON with usage and cost, streaming with include_usage, models.list",
  ...opts,
  fn: async () => {
    const user = await newUser("sdk");
    const { key } = await createKey(user, { name: "sdk" });
    const client = sdk(key);

    const { data, response } = await client.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello!" }],
      })
      .withResponse();
    assert.equal(data.choices[0].message.role, "assistant");
    assert.match(data.choices[0].message.content ?? "", /Hello!/);
    assert.equal(data.choices[0].finish_reason, "stop");
    assert.ok(data.usage!.prompt_tokens > 0 && data.usage!.completion_tokens > 0);
    assert.equal(data.usage!.total_tokens, data.usage!.prompt_tokens + data.usage!.completion_tokens);
    const cost = response.headers.get("x-nexus-cost");
    assert.match(cost ?? "", /^\d+\.\d+$/);
    assert.equal((data.usage as unknown as { cost: number }).cost, Number(cost));

    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello!" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      if (chunk.choices[0]?.delta?.content) text += chunk.choices[0].delta.content;
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, data.choices[0].message.content, "the same deterministic answer");
    assert.equal(finish, "stop");
    assert.ok(usage && usage.completion_tokens > 0);

    const withoutUsage = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    for await (const chunk of withoutUsage) assert.equal(chunk.usage ?? null, null);

    // A Supabase access token works as the bearer too; "auto" lets the router choose.
    const asUser = await sdk(user.accessToken).chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "Write a haiku about tea" }],
    });
    assert.ok(asUser.model.length > 0);

    const models = await client.models.list();
    const ids = [];
    for await (const m of models) ids.push(m.id);
    assert.ok(ids.includes("gpt-4o-mini"));
    await settled(user.id);
  },
});

Deno.test({
  name:
    "models.retrieve through the openai SDK: a listed model in OpenAI's shape; an unknown id is a 404 NotFoundError",
  ...opts,
  fn: async () => {
    const user = await newUser("retrieve");
    const { key } = await createKey(user, { name: "retrieve" });
    const client = sdk(key);
    const listed = [];
    for await (const m of await client.models.list()) listed.push(m);
    const model = await client.models.retrieve("gpt-4o-mini");
    assert.deepEqual(model, listed.find((m) => m.id === "gpt-4o-mini"), "as the list has it");
    assert.deepEqual(Object.keys(model).sort(), ["created", "id", "object", "owned_by"]);
    assert.equal(model.object, "model");
    assert.equal(model.owned_by, "OpenAI");
    // A signed-in user's token works too, for every listed model.
    const asUser = sdk(user.accessToken);
    for (const m of listed.slice(0, 5)) assert.deepEqual(await asUser.models.retrieve(m.id), m);

    const missing = await client.models.retrieve("gpt-9-imaginary").catch((e) => e);
    assert.ok(missing instanceof OpenAI.NotFoundError, String(missing));
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.error, {
      message: "The model `gpt-9-imaginary` does not exist or you do not have access to it.",
      type: "invalid_request_error",
      param: null,
      code: "model_not_found",
    });
    await assert.rejects(sdk("nx_not-a-real-key").models.retrieve("gpt-4o-mini"), OpenAI.AuthenticationError);
  },
});

Deno.test({
  name: "errors raise the SDK's classes: 400, 401, 402 (quota and key budget), 429 with retry-after",
  ...opts,
  fn: async () => {
    const user = await newUser("errors");
    const { id: keyId, key } = await createKey(user, { name: "errors", monthlyBudgetUsd: 0.000001 });
    const client = sdk(key);
    const ask = (extra: Record<string, unknown> = {}) =>
      client.chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra } as never,
      );

    await assert.rejects(ask({ n: 2 }), (e) => e instanceof OpenAI.BadRequestError && e.status === 400);
    await assert.rejects(ask({ model: "no-such-model" }), OpenAI.BadRequestError);
    // Fields we cannot honour are refused, the SDK's error naming them in `param`.
    for (
      const [param, value] of [
        ["logprobs", true],
        ["top_logprobs", 3],
        ["modalities", ["text", "audio"]],
        ["functions", [{ name: "f", parameters: { type: "object" } }]],
        ["function_call", "auto"],
      ] as const
    ) {
      await assert.rejects(
        ask({ [param]: value }),
        (e) => e instanceof OpenAI.BadRequestError && e.param === param && e.message.includes(`${param}: `),
        param,
      );
    }
    await assert.rejects(
      ask({ model: "gpt-4o-mini", reasoning_effort: "low" }),
      (e) =>
        e instanceof OpenAI.BadRequestError && e.param === "model" &&
        /gpt-4o-mini does not support reasoning_effort low/.test(e.message),
    );
    await assert.rejects(
      sdk("nx_wrong").chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      }),
      OpenAI.AuthenticationError,
    );

    // The tiny budget cannot hold one request's worst case: refused before anything is spent.
    await assert.rejects(
      ask(),
      (e) =>
        e instanceof OpenAI.APIError && e.status === 402 && e.code === "quota_exceeded" &&
        /budget/.test(e.message),
    );
    const [held] = await database()`
      select period_spend::text as spent, reserved_spend::text as reserved,
             (select count(*)::int from public.requests where user_id = ${user.id}) as requests
      from public.api_keys where id = ${keyId}`;
    assert.deepEqual(held, { spent: "0", reserved: "0", requests: 0 }, "nothing was admitted or spent");

    const { key: other } = await createKey(user, { name: "no budget" });
    await database()`update public.request_counters set minute_count = 20, minute_window = date_trunc('minute', now()) where user_id = ${user.id}`;
    await assert.rejects(
      sdk(other).chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      }),
      (e) => e instanceof OpenAI.RateLimitError && Number(e.headers?.get("retry-after")) >= 1,
    );
    await database()`update public.request_counters set minute_count = 0, period_requests = 100 where user_id = ${user.id}`;
    await assert.rejects(
      sdk(other).chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      }),
      (e) => e instanceof OpenAI.APIError && e.status === 402,
    );
  },
});

/**
 * A key whose monthly budget is exactly `times` worst cases of `body`, and that worst case (USD,
 * a decimal string) as admission computes it: read from one request through a key without one.
 */
async function keyForWorstCases(
  user: TestUser,
  body: OpenAI.ChatCompletionCreateParamsNonStreaming,
  times: number,
) {
  const probe = await createKey(user, { name: "probe" });
  await sdk(probe.key).chat.completions.create(body);
  await settled(user.id);
  const [{ worst }] = await database()`select worst_case_cost::text as worst from public.requests
                                        where api_key_id = ${probe.id}`;
  const created = await createKey(user, { name: `${times} worst cases`, monthlyBudgetUsd: 1 });
  // the API takes budgets with 6 decimals at most; the worst cases here have more
  await database()`update public.api_keys set monthly_budget = ${worst}::numeric * ${times}
                   where id = ${created.id}`;
  return { ...created, worst: worst as string };
}

const isBudgetRefusal = (e: unknown) =>
  e instanceof OpenAI.APIError && e.status === 402 && e.code === "quota_exceeded" && /budget/.test(e.message);

/** The key's spend and reservation and the sum of its usage records (exact decimal strings). */
async function keyMoney(keyId: string) {
  const [row] = await database()`
    select trim_scale(k.period_spend)::text as spent, trim_scale(k.reserved_spend)::text as reserved,
           (select trim_scale(coalesce(sum(cost), 0))::text from public.usage_records where api_key_id = k.id)
             as recorded,
           k.period_spend < k.monthly_budget as "underBudget"
    from public.api_keys k where k.id = ${keyId}`;
  return row as { spent: string; reserved: string; recorded: string; underBudget: boolean };
}

Deno.test({
  name: "a key's budget of exactly one worst case admits one request, then none, settled or not",
  ...opts,
  fn: async () => {
    const user = await newUser("budget-one");
    // max_tokens over what the answer takes: it costs less than its worst case, some budget is left
    const body = {
      model: "gpt-4o-mini",
      max_tokens: 1000,
      messages: [{ role: "user" as const, content: "one" }],
    };
    const { id, key } = await keyForWorstCases(user, body, 1);
    const client = sdk(key);

    const answer = await client.chat.completions.create(body);
    assert.equal(answer.object, "chat.completion");
    // asked at once: its settlement may not have committed, its reservation has
    await assert.rejects(client.chat.completions.create(body), isBudgetRefusal);
    await settled(user.id);
    const money = await keyMoney(id);
    assert.equal(money.reserved, "0");
    assert.equal(money.spent, money.recorded);
    assert.equal(money.underBudget, true, "it cost less than its worst case: some budget is left");
    // ... but less than one worst case
    await assert.rejects(client.chat.completions.create(body), isBudgetRefusal);
    await assertLedgerExact([user.id]);
  },
});

Deno.test({
  name: "a key's budget holds under concurrency: with room for exactly k worst cases, k of N requests get in",
  ...opts,
  fn: async () => {
    const N = 8;
    const K = 3;
    const user = await newUser("budget-race");
    const body = {
      model: "gpt-4o-mini",
      max_tokens: 64,
      messages: [{ role: "user" as const, content: "race" }],
    };
    const { id, key } = await keyForWorstCases(user, body, K);
    // Admitted requests stall at the provider after one token, until the function's idle timeout
    // (2 s on the test stack): none ends, and gives back budget, while the N are admitted.
    await setFaults({ mode: "stall", afterTokens: 1, count: "always", model: "gpt-4o-mini" });
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      const client = sdk(key);
      outcomes = await Promise.allSettled(
        Array.from({ length: N }, () => client.chat.completions.create(body)),
      );
    } finally {
      await clearFaults();
    }
    const refused = outcomes.filter((o) => o.status === "rejected" && isBudgetRefusal(o.reason));
    assert.equal(refused.length, N - K, "all but k are refused with the budget error");
    const [{ admitted }] = await database()`select count(*)::int as admitted from public.requests
                                            where api_key_id = ${id}`;
    assert.equal(admitted, K, "exactly k were admitted");

    await settled(user.id, 30_000);
    const money = await keyMoney(id);
    assert.equal(money.reserved, "0", "nothing is held once every request ended");
    assert.equal(money.spent, money.recorded, "the key's spend is the sum of its usage records");
    const list = await (await fetch(functionsUrl("account/keys"), {
      headers: { authorization: `Bearer ${user.accessToken}` },
    })).json();
    const shown = list.data.find((k: { id: string }) => k.id === id);
    assert.equal(shown.reservedUsd, 0);
    assert.equal(shown.spendThisMonthUsd, Number(money.spent));
    await assertLedgerExact([user.id]);
  },
});

Deno.test({
  name: "the Vercel AI SDK (openai-compatible provider): generateText and streamText",
  ...opts,
  fn: async () => {
    const { generateText, streamText } = await import("ai");
    const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
    const user = await newUser("vercel");
    const { key } = await createKey(user, { name: "vercel" });
    const nexus = createOpenAICompatible({
      name: "nexus",
      apiKey: key,
      baseURL: functionsUrl("openai"),
      includeUsage: true,
    });

    const generated = await generateText({ model: nexus("gpt-4o-mini"), prompt: "Hello from the AI SDK" });
    assert.match(generated.text, /Hello from the AI SDK/);
    assert.equal(generated.finishReason, "stop");
    assert.ok((generated.usage.outputTokens ?? 0) > 0);

    const streamed = streamText({ model: nexus("gpt-4o-mini"), prompt: "Hello from the AI SDK" });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    assert.equal(text, generated.text);
    const usage = await streamed.usage;
    assert.ok(
      (usage.inputTokens ?? 0) > 0 && (usage.outputTokens ?? 0) > 0,
      "usage arrives with include_usage",
    );
    await settled(user.id);
  },
});

Deno.test({
  name: "plain fetch with SSE, as curl would: chunks, [DONE], the cost in the last usage chunk",
  ...opts,
  fn: async () => {
    const user = await newUser("curl");
    const { key } = await createKey(user, { name: "curl" });
    const res = await fetch(functionsUrl("openai/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const lines = (await res.text()).split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
    assert.equal(lines.at(-1), "[DONE]");
    const last = JSON.parse(lines.at(-2)!);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.cost > 0);
    await settled(user.id);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
