// Secrets never reach the browser: the web origin (its bundle and /config.js) carries the
// project URL and the publishable (anon) key only — never the service-role key, the signing
// key or a provider key — and API error bodies never quote them.

import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { stack } from "../support/stack.ts";
import { functionsUrl, newUser } from "../support/users.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const ROOT = resolve(new URL("../..", import.meta.url).pathname);

Deno.test({
  name: "the web origin serves the anon key and URL only: no service-role key, signing key or provider key",
  ...opts,
  fn: async () => {
    const { webUrl, anonKey, serviceRoleKey } = stack();
    const config = await (await fetch(`${webUrl}/config.js`)).text();
    assert.ok(config.includes(anonKey));
    const bundle = await Deno.readTextFile(join(ROOT, "web", "dist", "app.js"));
    const page = await (await fetch(webUrl)).text();
    const signingKey = JSON.parse(
      await Deno.readTextFile(
        join(resolve(Deno.env.get("NEXUS_STACK_FILE") ?? ".local/test/stack.json", ".."), "signing-key.json"),
      ),
    );
    for (const [name, text] of [["config.js", config], ["app.js", bundle], ["index.html", page]]) {
      assert.ok(!text.includes(serviceRoleKey), `${name} has no service-role key`);
      assert.ok(!text.includes(signingKey.d), `${name} has no private signing key`);
      assert.ok(
        !/sk-[A-Za-z0-9]{20,}|sk-ant-|AIza[0-9A-Za-z_-]{20,}/.test(text),
        `${name} has no provider key`,
      );
      assert.ok(
        !/service_role|SUPABASE_SERVICE_ROLE_KEY|SUPABASE_DB_URL/.test(text),
        `${name} names no server secret`,
      );
    }
  },
});

Deno.test({
  name: "error answers never quote secrets",
  ...opts,
  fn: async () => {
    const { serviceRoleKey, dbUrl } = stack();
    const user = await newUser("secrets");
    const bodies: string[] = [];
    for (
      const [path, init] of [
        ["chat", { method: "POST", body: "{bad json" }],
        ["chat", {
          method: "POST",
          body: JSON.stringify({ messages: [{ role: "user", content: "x" }], model: "nope" }),
        }],
        ["account", { method: "PATCH", body: JSON.stringify({ tier: "enterprise" }) }],
        ["conversations/not-a-uuid/messages", {}],
        ["openai/chat/completions", {
          method: "POST",
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [], n: 3 }),
        }],
      ] as [string, RequestInit][]
    ) {
      const res = await fetch(functionsUrl(path), {
        ...init,
        headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
      });
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
      bodies.push(await res.text());
    }
    const password = new URL(dbUrl).password;
    for (const body of bodies) {
      assert.ok(!body.includes(serviceRoleKey));
      assert.ok(!body.includes(dbUrl) && !body.includes(`:${password}@`), "no database URL");
      assert.ok(!/\bat .*\.ts:\d+/.test(body), "no stack traces");
    }
  },
});
