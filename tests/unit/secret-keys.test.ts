// The admin endpoints' operator bearer: the legacy service-role key or any of the project's new
// secret keys (SUPABASE_SECRET_KEYS, a JSON object of name → `sb_secret_…` key), nothing else.

import assert from "node:assert/strict";
import { isSecretKey } from "../../supabase/functions/_shared/auth/secret-keys.ts";

function withKeys(vars: { legacy?: string; secret?: string }, fn: () => void) {
  const saved = ["SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_SECRET_KEYS"].map((n) =>
    [n, Deno.env.get(n)] as const
  );
  try {
    for (const [name] of saved) Deno.env.delete(name);
    if (vars.legacy !== undefined) Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", vars.legacy);
    if (vars.secret !== undefined) Deno.env.set("SUPABASE_SECRET_KEYS", vars.secret);
    fn();
  } finally {
    for (const [name, value] of saved) {
      value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
    }
  }
}

Deno.test("the legacy service-role key and every new secret key are accepted; nothing else", () => {
  withKeys({
    legacy: "eyJ.legacy.key",
    secret: JSON.stringify({ default: "sb_secret_abc", ci: "sb_secret_xyz" }),
  }, () => {
    for (const key of ["eyJ.legacy.key", "sb_secret_abc", "sb_secret_xyz"]) assert.ok(isSecretKey(key), key);
    for (const key of ["", "sb_secret_ab", "sb_secret_abcd", "eyJ.legacy.kez", "default", "ci"]) {
      assert.ok(!isSecretKey(key), JSON.stringify(key));
    }
  });
});

Deno.test("a project with only new keys (legacy keys disabled) still has an operator bearer", () => {
  withKeys({ secret: JSON.stringify({ default: "sb_secret_only" }) }, () => {
    assert.ok(isSecretKey("sb_secret_only"));
    assert.ok(!isSecretKey(""));
  });
});

Deno.test("no keys configured, or malformed ones: no bearer is a secret key, and nothing throws", () => {
  withKeys({}, () => assert.ok(!isSecretKey("anything")));
  withKeys({ secret: "not json" }, () => assert.ok(!isSecretKey("not json")));
  withKeys({ secret: JSON.stringify({ empty: "", number: 42 }) }, () => {
    assert.ok(!isSecretKey(""));
    assert.ok(!isSecretKey("42"));
  });
});
