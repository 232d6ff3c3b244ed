// Access-token verification inside the functions: only tokens signed by the project's key, with
// an allowed algorithm, unexpired, for the right audience and issuer, are users.

import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const ISSUER_BASE = "http://127.0.0.1:59999";
const project = await generateKeyPair("ES256", { extractable: true });
const stranger = await generateKeyPair("ES256");
const publicJwk = { ...(await exportJWK(project.publicKey)), kid: "project-key", alg: "ES256" };
Deno.env.set("SUPABASE_URL", ISSUER_BASE);
Deno.env.set("SUPABASE_JWKS", JSON.stringify({ keys: [publicJwk] }));
// a hosted project cannot be given SUPABASE_JWT_SECRET (reserved prefix): NEXUS_JWT_SECRET is read
Deno.env.set("NEXUS_JWT_SECRET", "legacy-secret-with-enough-entropy-0123456789");

const { verifyAccessToken, bearerToken } = await import("../../supabase/functions/_shared/auth/verify.ts");

const sub = crypto.randomUUID();
const good = {
  sub,
  role: "authenticated",
  aud: "authenticated",
  iss: `${ISSUER_BASE}/auth/v1`,
  email: "a@b.c",
};
const now = () => Math.floor(Date.now() / 1000);
const sign = (
  claims: Record<string, unknown>,
  key: CryptoKey = project.privateKey,
  header: Record<string, unknown> = { alg: "ES256", kid: "project-key" },
) =>
  new SignJWT({ iat: now(), exp: now() + 600, ...claims }).setProtectedHeader(header as { alg: string }).sign(
    key,
  );
const b64 = (o: unknown) =>
  btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

async function rejects(token: string, why: string) {
  await assert.rejects(verifyAccessToken(token), (e: { code?: string }) => e.code === "unauthorized", why);
}

Deno.test("a project-signed user token is accepted with its claims", async () => {
  const claims = await verifyAccessToken(await sign(good));
  assert.equal(claims.sub, sub);
  assert.equal(claims.email, "a@b.c");
});

Deno.test("forged, expired, premature, wrong audience, issuer or role: 401", async () => {
  await rejects(await sign(good, stranger.privateKey), "signed by another key");
  await rejects(await sign(good, stranger.privateKey, { alg: "ES256", kid: "other" }), "unknown kid");
  await rejects(await sign({ ...good, exp: now() - 60 }), "expired");
  await rejects(await sign({ ...good, nbf: now() + 600 }), "not yet valid");
  await rejects(await sign({ ...good, aud: "somebody-else" }), "wrong audience");
  await rejects(await sign({ ...good, iss: "https://evil.example/auth/v1" }), "wrong issuer");
  await rejects(await sign({ ...good, role: "service_role" }), "not a user token");
  await rejects(await sign({ ...good, role: "anon" }), "anon key");
  await rejects(await sign({ ...good, sub: "not-a-uuid" }), "malformed sub");
});

Deno.test("alg none, tampered payloads and HS256 signed with the public key: 401", async () => {
  const token = await sign(good);
  const [h, , s] = token.split(".");
  await rejects(`${b64({ alg: "none", typ: "JWT" })}.${b64({ ...good, exp: now() + 600 })}.`, "alg none");
  await rejects(
    `${h}.${b64({ ...good, sub: crypto.randomUUID(), exp: now() + 600 })}.${s}`,
    "tampered payload",
  );
  // Algorithm confusion: HS256 keyed with the public JWK's text must not pass.
  const confused = await new SignJWT({ ...good, iat: now(), exp: now() + 600 })
    .setProtectedHeader({ alg: "HS256", kid: "project-key" })
    .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
  await rejects(confused, "HS256 with the public key");
  await rejects("garbage", "not a JWT");
});

Deno.test("legacy HS256 tokens verify only with the project's secret", async () => {
  const secret = new TextEncoder().encode("legacy-secret-with-enough-entropy-0123456789");
  const legacy = await new SignJWT({ ...good, iat: now(), exp: now() + 600 }).setProtectedHeader({
    alg: "HS256",
  }).sign(secret);
  assert.equal((await verifyAccessToken(legacy)).sub, sub);
  const wrong = await new SignJWT({ ...good, iat: now(), exp: now() + 600 }).setProtectedHeader({
    alg: "HS256",
  }).sign(new TextEncoder().encode("x".repeat(44)));
  await rejects(wrong, "HS256 with another secret");
});

Deno.test("bearer tokens are read strictly from the Authorization header", () => {
  const req = (v?: string) => new Request("http://x/", { headers: v ? { authorization: v } : {} });
  assert.equal(bearerToken(req("Bearer abc.def.ghi")), "abc.def.ghi");
  assert.equal(bearerToken(req("bearer abc.def.ghi")), "abc.def.ghi");
  for (const bad of [undefined, "Basic abc", "Bearer", "Bearer a b", "abc.def.ghi"]) {
    assert.throws(
      () => bearerToken(req(bad)),
      (e: { code?: string }) => e.code === "unauthorized",
      String(bad),
    );
  }
});

Deno.test("a verified token is remembered until it expires, and then refused", async () => {
  const shortLived = await sign({ ...good, exp: Math.floor(Date.now() / 1000) + 7 });
  assert.equal((await verifyAccessToken(shortLived)).sub, sub);
  assert.equal((await verifyAccessToken(shortLived)).sub, sub, "served again (from the cache)");
  const realNow = Date.now;
  Date.now = () => realNow() + 20_000; // past exp and the clock tolerance
  try {
    await rejects(shortLived, "expired while cached");
  } finally {
    Date.now = realNow;
  }
});

Deno.test("NEXUS_JWT_ISSUER: Auth's own issuer(s) instead of <SUPABASE_URL>/auth/v1", async () => {
  const custom = "https://auth.example.com/auth/v1";
  Deno.env.set("NEXUS_JWT_ISSUER", ` ${custom} , http://kong:8000/auth/v1`);
  try {
    const claims = await verifyAccessToken(await sign({ ...good, sub: crypto.randomUUID(), iss: custom }));
    assert.equal(claims.iss, custom, "a listed issuer is accepted");
    await verifyAccessToken(
      await sign({ ...good, sub: crypto.randomUUID(), iss: "http://kong:8000/auth/v1" }),
    );
    await rejects(await sign({ ...good, sub: crypto.randomUUID() }), "SUPABASE_URL's issuer no longer is");
    await rejects(
      await sign({ ...good, sub: crypto.randomUUID(), iss: "https://evil.example/auth/v1" }),
      "others",
    );
  } finally {
    Deno.env.delete("NEXUS_JWT_ISSUER");
  }
  await verifyAccessToken(await sign({ ...good, sub: crypto.randomUUID() }));
});
