// The router when the models that could serve a request cannot answer now (their provider's
// circuit is open): 503 provider_unavailable with Retry-After, not the plan's 403; and a user who
// turned the router off is still answered by their default model, admission deciding. Through
// the OpenAI surface, whose reasoning_effort "minimal" only gpt-5 (OpenAI) takes.

import assert from "node:assert/strict";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { clearFaults, setFaults } from "../support/simulator.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function complete(user: TestUser, body: Record<string, unknown>) {
  return fetch(functionsUrl("openai/chat/completions"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
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
      await settled(off.id);
      const rows = await database()`select model from public.requests where user_id = ${off.id}`;
      assert.deepEqual(rows.map((r) => r.model), ["gpt-5"], "admitted for the default model");
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
