// The smart router through POST /chat: without a model (or with "auto") it classifies the
// request, honours its hard constraints together with the plan, says why in the first event
// and the JSON answer, and follows the user's preference and router switch.

import assert from "node:assert/strict";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { findModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { toUnits } from "../../supabase/functions/_shared/money.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

async function ask(user: TestUser, content: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content }], stream: false, ...extra }),
  });
  return { status: res.status, body: await res.json() };
}

const capabilities = (id: string) => findModel(id)!.capabilities as readonly string[];

Deno.test({
  name: "research goes to a web-search model, code to a code-rated one; the reason is given",
  ...opts,
  fn: async () => {
    const user = await newUser("route");
    const research = await ask(
      user,
      "What are the latest headlines about the EU AI Act this week? Give sources.",
    );
    assert.equal(research.status, 200);
    assert.equal(research.body.routing.selection, "router");
    assert.equal(research.body.routing.intent, "research");
    assert.ok(research.body.routing.required.includes("web_search"));
    assert.ok(capabilities(research.body.model).includes("web_search"), research.body.model);
    assert.match(research.body.routing.reason, /research/);
    assert.equal(typeof research.body.routing.worstCaseCost, "number");
    assert.ok(Array.isArray(research.body.routing.candidates));
    // fallbacks: any other search model the plan allows first (web search is a preference: then
    // the others; on the free plan Sonar Pro is over the cap)
    const searches = research.body.routing.candidates.map((id: string) =>
      capabilities(id).includes("web_search")
    );
    assert.deepEqual(searches, [...searches].sort((a: boolean, b: boolean) => Number(b) - Number(a)));

    const code = await ask(
      user,
      "Write a Python function that parses ISO-8601 durations like PT1H30M into seconds, with unit tests.",
      { model: "auto" },
    );
    assert.equal(code.status, 200);
    assert.equal(code.body.routing.intent, "code");
    assert.ok(["low", "medium", "high"].includes(code.body.routing.complexity));
    assert.ok((findModel(code.body.model)!.quality.code ?? 0) >= 6, "a model rated for code");
    await settled(user.id);
  },
});

Deno.test({
  name: "the same request routes the same way; cheapest never costs more than best",
  ...opts,
  fn: async () => {
    const user = await newUser("determinism");
    await database()`select public.set_user_tier(${user.id}, 'team')`;
    const prompt = "Explain the difference between a mutex and a semaphore, with an example of each.";
    const a = await ask(user, prompt);
    const b = await ask(user, prompt);
    assert.equal(a.body.model, b.body.model);
    const cheapest = await ask(user, prompt, { routing: "cheapest" });
    const best = await ask(user, prompt, { routing: "best" });
    assert.equal(cheapest.body.routing.preference, "cheapest");
    const price = (id: string) => {
      const p = findModel(id)!.pricing as { inputPerMTok: string; outputPerMTok: string };
      return toUnits(p.inputPerMTok) + toUnits(p.outputPerMTok);
    };
    assert.ok(
      price(cheapest.body.model) <= price(best.body.model),
      `${cheapest.body.model} vs ${best.body.model}`,
    );
    const intent = best.body.routing.intent;
    assert.ok(
      (findModel(best.body.model)!.quality[intent as "general"] ?? 0) >=
        (findModel(cheapest.body.model)!.quality[intent as "general"] ?? 0),
    );
    await settled(user.id);
  },
});

Deno.test({
  name: "the plan is a hard constraint: a free user's routed model stays within $0.01 worst case",
  ...opts,
  fn: async () => {
    const user = await newUser("free-route");
    const hard = await ask(
      user,
      "Prove that there are infinitely many primes of the form 4k+3, rigorously, step by step.",
    );
    assert.equal(hard.status, 200);
    await settled(user.id);
    const [request] =
      await database()`select model, worst_case_cost::text as wc from public.requests where user_id = ${user.id}`;
    assert.equal(request.model, hard.body.model);
    assert.ok(toUnits(request.wc) <= toUnits("0.01"), `worst case ${request.wc}`);
    assert.ok((findModel(hard.body.model)!.tiers as readonly string[]).includes("free"));
  },
});

Deno.test({
  name: "a request read as image generation is answered in text by a chat model, never refused",
  ...opts,
  fn: async () => {
    const user = await newUser("imagegen");
    for (
      const content of [
        "Draw a watercolor illustration of a lighthouse at dawn.",
        "Draw an ASCII art cat",
        "Create an SVG icon of a house",
      ]
    ) {
      const res = await ask(user, content);
      assert.equal(res.status, 200, `${content}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.routing.selection, "router");
      assert.ok(capabilities(res.body.model).includes("chat"), res.body.model);
      assert.ok(!res.body.routing.required.includes("image_generation"));
      if (res.body.routing.intent === "image_generation") {
        assert.match(
          res.body.routing.reason,
          /image generation is not served yet, so it is answered in text/,
        );
      }
    }
    await settled(user.id);
  },
});

Deno.test({
  name:
    "research on the free plan with a long prompt: no search model fits the cap, so another answers (not 403)",
  ...opts,
  fn: async () => {
    const user = await newUser("research-free");
    const context = "Answer briefly and cite sources where you can. ".repeat(80); // ~900 tokens
    const res = await fetch(functionsUrl("chat"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        messages: [
          { role: "system", content: context },
          { role: "user", content: "What are the latest news headlines today about the stock market?" },
        ],
        stream: false,
      }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.routing.intent, "research");
    assert.ok(body.routing.required.includes("web_search"));
    assert.ok(!capabilities(body.model).includes("web_search"), body.model);
    assert.match(body.routing.reason, /answered without live search/);
    await settled(user.id);
  },
});

Deno.test({
  name: "stop is refused by name for a model that rejects it (gpt-5), and the router leaves such models out",
  ...opts,
  fn: async () => {
    const user = await newUser("stop");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const explicit = await ask(user, "List three colours.", { model: "gpt-5", stop: ["\n\n"] });
    assert.equal(explicit.status, 400);
    assert.equal(explicit.body.error.code, "invalid_request");
    assert.match(explicit.body.error.message, /gpt-5 does not support stop/);
    assert.equal(explicit.body.error.details.field, "stop");
    const hard = "Prove that there are infinitely many primes of the form 4k+3, rigorously, step by step.";
    const routed = await ask(user, hard, { routing: "best", stop: ["QED"] });
    assert.equal(routed.status, 200);
    assert.ok(!findModel(routed.body.model)!.fixedSampling, routed.body.model);
    for (const id of routed.body.routing.candidates) assert.ok(!findModel(id)!.fixedSampling, id);
    await settled(user.id);
  },
});

Deno.test({
  name:
    "stop that a provider refuses: xAI's reasoning models refuse any, Anthropic blank ones; refused by name, routed around",
  ...opts,
  fn: async () => {
    const user = await newUser("stop-providers");
    await database()`select public.set_user_tier(${user.id}, 'enterprise')`;
    const question = "List three colours, one per line.";
    // xAI: "Argument not supported on this model: stop" from grok-3-mini and grok-4, not grok-3.
    for (const model of ["grok-3-mini", "grok-4"]) {
      const refused = await ask(user, question, { model, stop: ["END"], fallback: false });
      assert.equal(refused.status, 400, `${model}: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.error.details.field, "stop");
      assert.match(refused.body.error.message, new RegExp(`${model} does not support stop`));
    }
    const grok3 = await ask(user, question, { model: "grok-3", stop: ["END"], fallback: false });
    assert.equal(grok3.status, 200, JSON.stringify(grok3.body));
    // Anthropic: 400 "stop_sequences: each stop sequence must contain non-whitespace".
    const blank = await ask(user, question, { model: "claude-haiku-4-5", stop: ["\n"], fallback: false });
    assert.equal(blank.status, 400, JSON.stringify(blank.body));
    assert.equal(blank.body.error.details.field, "stop");
    assert.match(
      blank.body.error.message,
      /claude-haiku-4-5 does not support stop sequences of whitespace only/,
    );
    const visible = await ask(user, question, { model: "claude-haiku-4-5", stop: ["END"], fallback: false });
    assert.equal(visible.status, 200, JSON.stringify(visible.body));
    // Routed: no such model is chosen, nor kept as a fallback.
    const routed = await ask(user, question, { routing: "best", stop: ["\n\n", " "] });
    assert.equal(routed.status, 200, JSON.stringify(routed.body));
    for (const id of [routed.body.model, ...routed.body.routing.candidates]) {
      const m = findModel(id)!;
      assert.ok(m.provider !== "anthropic" && !m.refusesStop && !m.fixedSampling, id);
    }
    await settled(user.id);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
