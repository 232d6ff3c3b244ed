// Every provider API end to end: POST /chat → our adapter → that provider's simulated server
// (its own wire format) → our SSE → the usage record. For each provider, one available model
// streams a reply whose cost is exactly the catalog price of the usage the provider reported.

import assert from "node:assert/strict";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { closeDatabase, database, functionsUrl, newUser, settled } from "../support/users.ts";
import { stack } from "../support/stack.ts";
import { type ChatModel, findModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { cost, toUnits } from "../../supabase/functions/_shared/money.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const PROVIDERS = [
  "openai",
  "anthropic",
  "gemini",
  "cohere",
  "deepseek",
  "mistral",
  "perplexity",
  "xai",
  "groq",
  "dashscope",
];

interface ListedModel {
  id: string;
  provider: string;
  capabilities: string[];
  available: boolean;
  simulated: boolean;
}

async function streamChat(token: string, model: string, content: string) {
  const res = await fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content }],
      fallback: false,
    }),
  });
  assert.equal(res.status, 200, `${model}: ${res.status}`);
  const events: Record<string, unknown>[] = [];
  for await (
    const e of res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
  ) {
    if (e.data !== "[DONE]") events.push(JSON.parse(e.data));
  }
  return events;
}

Deno.test({
  name: "each of the 10 provider APIs answers through /chat, billed exactly as it reported",
  ...opts,
  fn: async () => {
    const user = await newUser("providers");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const listed = await fetch(functionsUrl("models"), {
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    const { data } = await listed.json() as { data: ListedModel[] };

    for (const provider of PROVIDERS) {
      const model = data.find((m) =>
        m.provider === provider && m.available && m.capabilities.includes("chat")
      );
      assert.ok(model, `an available chat model for ${provider}`);
      assert.equal(model.simulated, true);
      const events = await streamChat(user.accessToken, model.id, `Hello from the ${provider} test`);
      const text = events.filter((e) => "delta" in e).map((e) => e.delta).join("");
      assert.match(text, /simulated/i, `${provider} answered`);
      const final = events.find((e) => "cost" in e) as {
        cost: number;
        usage: { inputTokens: number; outputTokens: number };
      };
      assert.ok(final, `${provider}: a cost event`);
      assert.ok(final.usage.inputTokens > 0 && final.usage.outputTokens > 0, `${provider}: usage reported`);
      const catalog = findModel(model.id) as ChatModel;
      assert.equal(
        final.cost,
        Number(cost(catalog.pricing, final.usage)),
        `${provider}: cost = catalog price × usage`,
      );
      assert.ok(!events.some((e) => "error" in e), `${provider}: no error event`);
    }

    await settled(user.id);
    const records = await database()`
      select provider, model, cost::text as cost, status from public.usage_records where user_id = ${user.id}`;
    assert.deepEqual(
      records.map((r) => r.provider).sort(),
      [...PROVIDERS].sort(),
      "one usage record per provider",
    );
    for (const r of records) {
      assert.equal(r.status, "complete");
      assert.ok(toUnits(r.cost) > 0n, `${r.provider}: never $0`);
    }
  },
});

Deno.test({
  name: "reasoning and citations reach the client as their own events",
  ...opts,
  fn: async () => {
    const user = await newUser("extras");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const reasoner = await streamChat(user.accessToken, "deepseek-reasoner", "think first");
    assert.ok(reasoner.some((e) => typeof e.reasoning === "string"), "deepseek-reasoner streams reasoning");
    const sonar = await streamChat(user.accessToken, "sonar", "what is new today?");
    const citations = sonar.find((e) => Array.isArray(e.citations))?.citations as string[] | undefined;
    assert.ok(citations?.length, "sonar cites sources");
    for (const url of citations!) assert.match(url, /^https?:\/\//);
    await settled(user.id);
  },
});

Deno.test({
  name: "Perplexity answers a conversation whose turns do not alternate (reshaped for its rule)",
  ...opts,
  fn: async () => {
    const user = await newUser("pplx-turns");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    // Two user turns in a row, a system message in the middle, two assistant turns in a row:
    // the simulated Perplexity, like Perplexity, answers such turns 400.
    const res = await fetch(functionsUrl("chat"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "sonar",
        stream: false,
        fallback: false,
        messages: [
          { role: "user", content: "Here is some context." },
          { role: "user", content: "And a question about it." },
          { role: "system", content: "Be brief." },
          { role: "assistant", content: "Noted." },
          { role: "assistant", content: "Anything else?" },
          { role: "user", content: "What is new today?" },
        ],
      }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.model, "sonar");
    assert.match(body.content, /simulated/i);
    await settled(user.id);
  },
});

Deno.test({
  name: "Anthropic's 529 overloaded is retried, then answered",
  ...opts,
  fn: async () => {
    const user = await newUser("overloaded");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const sim = (stack() as unknown as { simulators: Record<string, string> }).simulators.anthropic;
    const faults = new URL("/__simulator/faults", sim);
    await fetch(faults, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ mode: "overloaded", count: 1 }),
    })
      .then((r) => r.body?.cancel());
    const events = await streamChat(user.accessToken, "claude-haiku-4-5", "are you there?");
    assert.ok(events.some((e) => "delta" in e));
    const stats = await (await fetch(new URL("/__simulator/stats", sim))).json();
    assert.equal(stats.byStatus["529"] >= 1, true, "the 529 was seen and retried");
    await settled(user.id);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
