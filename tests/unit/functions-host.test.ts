// The local functions host reads supabase/config.toml the way the platform does and applies
// verify_jwt before a request reaches a function.

import assert from "node:assert/strict";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { discoverFunctions, lineBatches, verifyJwtGate } from "../../scripts/stack/functions-host.ts";

Deno.test("discovers this project's functions with verify_jwt from config.toml", () => {
  const specs = discoverFunctions(join(new URL("../..", import.meta.url).pathname, "supabase"));
  const names = specs.map((s) => s.name);
  assert.ok(names.includes("chat") && names.includes("models"), names.join(","));
  assert.ok(!names.some((n) => n.startsWith("_")), "_shared is not a function");
  for (const s of specs) assert.equal(s.verifyJwt, false, `${s.name} verifies tokens itself`);
});

Deno.test("verify_jwt defaults to on, as on Supabase, and honours config.toml", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of ["open", "guarded", "_shared"]) {
      await Deno.mkdir(join(dir, "functions", name), { recursive: true });
      await Deno.writeTextFile(
        join(dir, "functions", name, "index.ts"),
        "Deno.serve(() => new Response('ok'));\n",
      );
    }
    await Deno.writeTextFile(join(dir, "config.toml"), "[functions.open]\nverify_jwt = false\n");
    const specs = discoverFunctions(dir);
    assert.deepEqual(specs.map((s) => [s.name, s.verifyJwt]), [["guarded", true], ["open", false]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the verify_jwt gate: project JWTs pass, others are 401, preflights always pass", async () => {
  const project = await generateKeyPair("ES256", { extractable: true });
  const other = await generateKeyPair("ES256");
  const jwks = { keys: [{ ...(await exportJWK(project.publicKey)), kid: "k1", alg: "ES256" }] };
  const token = (key: CryptoKey, exp = "1h") =>
    new SignJWT({ role: "anon" }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuedAt()
      .setExpirationTime(exp).sign(key);
  const req = (auth?: string, method = "POST") =>
    new Request("http://x/functions/v1/f", { method, headers: auth ? { authorization: auth } : {} });

  assert.equal(await verifyJwtGate(req(`Bearer ${await token(project.privateKey)}`), jwks), null);
  assert.equal(await verifyJwtGate(req(undefined, "OPTIONS"), jwks), null);
  for (
    const auth of [
      undefined,
      "Bearer nope",
      `Bearer ${await token(other.privateKey)}`,
      `Bearer ${await token(project.privateKey, "-1m")}`,
    ]
  ) {
    const refusal = await verifyJwtGate(req(auth), jwks);
    assert.equal(refusal?.status, 401, String(auth).slice(0, 30));
    assert.equal(typeof (await refusal!.json()).message, "string");
  }
});

Deno.test("a function's output is relayed as whole lines, however the reads cut it", async () => {
  const text = 'first line\nsecond é line\n\n{"json":true} 🚀\nno newline at the end';
  const bytes = new TextEncoder().encode(text);
  for (const size of [1, 2, 5, 64, bytes.length]) {
    let at = 0;
    const output = new ReadableStream({
      type: "bytes",
      pull(c) {
        if (at < bytes.length) {
          c.enqueue(bytes.slice(at, at + size));
          at += size;
        } else {
          c.close();
          c.byobRequest?.respond(0);
        }
      },
    });
    const lines: string[] = [];
    for await (const batch of lineBatches(output)) lines.push(...batch);
    assert.deepEqual(lines, text.split("\n"), `pieces of ${size}`);
  }
});
