// The OpenAI-compatible surface with platform API keys, judged by the official `openai` SDK:
// key lifecycle (shown once, stored hashed, listed, budget, revoked), completions with and
// without streaming, usage and cost, the models list, and the SDK's error classes.

import assert from "node:assert/strict";
import OpenAI from "openai";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { hashApiKey } from "../../supabase/functions/_shared/auth/api-keys.ts";

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
  name: "errors raise the SDK's classes: 400, 401, 402 (quota and key budget), 429 with retry-after",
  ...opts,
  fn: async () => {
    const user = await newUser("errors");
    const { key } = await createKey(user, { name: "errors", monthlyBudgetUsd: 0.000001 });
    const client = sdk(key);
    const ask = (extra: Record<string, unknown> = {}) =>
      client.chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra } as never,
      );

    await assert.rejects(ask({ n: 2 }), (e) => e instanceof OpenAI.BadRequestError && e.status === 400);
    await assert.rejects(ask({ model: "no-such-model" }), OpenAI.BadRequestError);
    await assert.rejects(
      sdk("nx_wrong").chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      }),
      OpenAI.AuthenticationError,
    );

    await ask(); // spends more than the tiny budget
    await settled(user.id);
    await assert.rejects(
      ask(),
      (e) => e instanceof OpenAI.APIError && e.status === 402 && /budget/.test(e.message),
    );

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
