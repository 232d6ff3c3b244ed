// The router when the models that could serve a request cannot answer now (their provider's
// circuit is open): 503 provider_unavailable with Retry-After, not the plan's 403; and a user who
// turned the router off is still answered by their default model, admission deciding, also
// through an API key with a monthly budget. Through the OpenAI surface, whose reasoning_effort
// "minimal" only gpt-5 (OpenAI) takes.

import assert from "node:assert/strict";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { clearFaults, setFaults } from "../support/simulator.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function complete(user: TestUser | { apiKey: string }, body: Record<string, unknown>) {
  const bearer = "apiKey" in user ? user.apiKey : user.accessToken;
  return fetch(functionsUrl("openai/chat/completions"), {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "Say hi" }], ...body }),
  });
}

Deno.test({
  name:
    "router: only models whose circuit is open could serve it → 503 with Retry-After; router off → default model",
  ...opts,
  fn: async () => {
    const user = await newUser("route-open");
    const off = await newUser("route-off");
    for (const u of [user, off]) await database()`select public.set_user_tier(${u.id}, 'enterprise')`;
    const patched = await fetch(functionsUrl("account"), {
      method: "PATCH",
      headers: { authorization: `Bearer ${off.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ smartRouter: false, defaultModel: "gpt-5" }),
    });
    assert.equal(patched.status, 200);
    await patched.body?.cancel();
    const created = await fetch(functionsUrl("account/keys"), {
      method: "POST",
      headers: { authorization: `Bearer ${off.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "budgeted", monthlyBudgetUsd: 5 }),
    });
    assert.equal(created.status, 201);
    const budgeted = { apiKey: (await created.json()).key as string };

    const minimal = { reasoning_effort: "minimal" };
    await setFaults({ mode: "server_error", count: "always", model: "gpt-5" });
    try {
      // Open OpenAI's circuit in the openai function: gpt-5 fails (no fallback takes "minimal").
      let opened = false;
      for (let i = 0; i < 4 && !opened; i++) {
        const r = await complete(user, { model: "gpt-5", ...minimal });
        opened = r.status === 503;
        await r.body?.cancel();
      }
      assert.ok(opened, "the circuit opened");

      const routed = await complete(user, { model: "auto", ...minimal });
      const body = await routed.json();
      assert.equal(routed.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, "provider_unavailable");
      assert.match(body.error.message, /openai failing \(circuit open\)/);
      const retryAfter = Number(routed.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter}`); // NEXUS_BREAKER_OPEN_MS 3000

      // The same request from a user whose router is off is admitted for their default model
      // (whose own circuit is then what answers), not refused by the router.
      const byDefault = await complete(off, { model: "auto", ...minimal });
      const answer = await byDefault.json();
      assert.equal(byDefault.status, 503, JSON.stringify(answer));
      assert.match(answer.error.message, /circuit/);
      // The same through an API key with a budget: the budget is checked against the default
      // model's worst case, not against the router's empty list (that refused it).
      const byKey = await complete(budgeted, { model: "auto", ...minimal });
      const keyAnswer = await byKey.json();
      assert.equal(byKey.status, 503, JSON.stringify(keyAnswer));
      assert.match(keyAnswer.error.message, /circuit/);
      await settled(off.id);
      const rows = await database()`
        select model, api_key_id is not null as by_key from public.requests where user_id = ${off.id}
        order by admitted_at`;
      assert.deepEqual(
        rows.map((r) => `${r.model} ${r.by_key}`),
        ["gpt-5 false", "gpt-5 true"],
        "admitted for the default model, with the token and with the key",
      );
    } finally {
      await clearFaults();
    }
    await new Promise((r) => setTimeout(r, 3200)); // let the circuit half-open for later tests
    const probe = await complete(user, { model: "gpt-5", ...minimal });
    assert.equal(probe.status, 200);
    await probe.body?.cancel();
    await settled(user.id);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
