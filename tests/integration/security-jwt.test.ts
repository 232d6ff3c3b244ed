// Forged and invalid access tokens against every function endpoint that needs a user: `alg:
// none`, HS256 keyed with the public key, unknown or spoofed key ids, expired, not yet valid,
// wrong audience or issuer, tampered payloads, the project's own API keys. Each is a 401 in the
// documented shape that tells nothing about the account, and the database shows nothing
// recorded for the user the token names (every row referencing them, counters included).
// The forgeries use the stack's real signing key where the attack needs a real signature, so
// only the one thing wrong with each token is what makes it fail.

import assert from "node:assert/strict";
import { exportJWK, exportSPKI, generateKeyPair, importJWK, type JWTPayload, SignJWT } from "jose";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";
import { assertErrorShape, assertNothingChanged, rowSnapshot, signingKey } from "../support/security.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const now = () => Math.floor(Date.now() / 1000);
const b64url = (data: string | Uint8Array) =>
  btoa(typeof data === "string" ? data : String.fromCharCode(...data)).replace(/=+$/, "").replace(/\+/g, "-")
    .replace(/\//g, "_");
const json64 = (value: unknown) => b64url(new TextEncoder().encode(JSON.stringify(value)));
const decode = (part: string) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));

interface Endpoint {
  method: string;
  path: string;
  body?: unknown;
  openai?: boolean;
}

/** Every endpoint that needs a signed-in user, aimed at the victim's own rows where it takes an id. */
function endpoints(t: { conversationId: string; keyId: string; friendId: string; attackerEmail: string }) {
  const ask = { messages: [{ role: "user", content: "hello" }], stream: false, model: "gpt-4o-mini" };
  const list: Endpoint[] = [
    { method: "POST", path: "chat", body: ask },
    { method: "POST", path: "chat", body: { ...ask, conversationId: t.conversationId } },
    { method: "POST", path: "openai/chat/completions", body: ask, openai: true },
    { method: "GET", path: "openai/models", openai: true },
    { method: "GET", path: "account" },
    { method: "PATCH", path: "account", body: { displayName: "pwned", smartRouter: false } },
    { method: "GET", path: "account/usage" },
    { method: "GET", path: "account/keys" },
    { method: "POST", path: "account/keys", body: { name: "pwned" } },
    { method: "DELETE", path: `account/keys/${t.keyId}` },
    { method: "GET", path: "models" },
    { method: "GET", path: "conversations" },
    { method: "POST", path: "conversations", body: { title: "pwned" } },
    { method: "PATCH", path: `conversations/${t.conversationId}`, body: { title: "pwned" } },
    { method: "GET", path: `conversations/${t.conversationId}/messages` },
    { method: "POST", path: `conversations/${t.conversationId}/members`, body: { email: t.attackerEmail } },
    { method: "DELETE", path: `conversations/${t.conversationId}/members/${t.friendId}` },
    { method: "DELETE", path: `conversations/${t.conversationId}` },
  ];
  return list;
}

function send(e: Endpoint, token: string | null) {
  return fetch(functionsUrl(e.path), {
    method: e.method,
    headers: {
      "content-type": "application/json",
      apikey: stack().anonKey,
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: e.body === undefined ? undefined : JSON.stringify(e.body),
  });
}

/** Runs `fn` over the items, `limit` at a time. */
async function pooled<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

/** The victim's account with something in every place a forged request could change. */
async function victimWithData() {
  const victim = await newUser("jwt-victim");
  const friend = await newUser("jwt-friend");
  const attacker = await newUser("jwt-attacker");
  const auth = { authorization: `Bearer ${victim.accessToken}`, "content-type": "application/json" };
  const answered = await fetch(functionsUrl("chat"), {
    method: "POST",
    headers: auth,
    body: JSON.stringify({
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      model: "gpt-4o-mini",
    }),
  });
  assert.equal(answered.status, 200);
  const { conversationId } = await answered.json();
  const shared = await fetch(functionsUrl(`conversations/${conversationId}/members`), {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ email: friend.email }),
  });
  assert.equal(shared.status, 201);
  await shared.body?.cancel();
  const key = await fetch(functionsUrl("account/keys"), {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ name: "victim's key" }),
  });
  assert.equal(key.status, 201);
  const { id: keyId } = await key.json();
  await settled(victim.id);
  return { victim, friend, attacker, conversationId, keyId };
}

/** The forgeries: name → token, each naming the victim as its subject. */
async function forgeries(victim: TestUser, attacker: TestUser): Promise<[string, string | null][]> {
  const { apiUrl, anonKey, serviceRoleKey } = stack();
  const jwk = signingKey();
  const projectKey = await importJWK(jwk, "ES256") as CryptoKey;
  const { d: _private, ...publicJwk } = jwk;
  const publicPem = await exportSPKI(await importJWK(publicJwk, "ES256", { extractable: true }) as CryptoKey);
  const stranger = await generateKeyPair("ES256", { extractable: true });
  const strangerRsa = await generateKeyPair("RS256");
  const victimClaims = decode(victim.accessToken.split(".")[1]) as JWTPayload;
  const claims = (extra: Record<string, unknown> = {}) => ({
    ...victimClaims,
    iat: now(),
    exp: now() + 600,
    ...extra,
  });
  const sign = (
    payload: Record<string, unknown>,
    key: CryptoKey | Uint8Array = projectKey,
    header: Record<string, unknown> = { alg: "ES256", kid: jwk.kid, typ: "JWT" },
  ) => new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
  const hmac = (secret: string) =>
    sign(claims(), new TextEncoder().encode(secret), { alg: "HS256", kid: jwk.kid, typ: "JWT" });
  // jose refuses to sign a header it would itself reject, so this one is signed by hand.
  const signRaw = async (header: Record<string, unknown>, payload: Record<string, unknown>) => {
    const input = `${json64(header)}.${json64(payload)}`;
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      projectKey,
      new TextEncoder().encode(input),
    );
    return `${input}.${b64url(new Uint8Array(signature))}`;
  };
  const unsigned = (alg: string) => `${json64({ alg, typ: "JWT" })}.${json64(claims())}.`;

  const [vh, vp, vs] = victim.accessToken.split(".");
  const [ah, , as] = attacker.accessToken.split(".");
  const withPayload = (extra: Record<string, unknown>) => json64({ ...victimClaims, ...extra });

  return [
    ["no token", null],
    ["not a JWT", "not-a-jwt"],
    ["alg none", unsigned("none")],
    ["alg None (mixed case)", unsigned("None")],
    ["alg none with the real signature kept", `${json64({ alg: "none" })}.${vp}.${vs}`],
    ["HS256 keyed with the public JWK", await hmac(JSON.stringify(publicJwk))],
    ["HS256 keyed with the public key (PEM)", await hmac(publicPem)],
    ["HS256 keyed with the anon key", await hmac(anonKey)],
    [
      "project key, unknown kid",
      await sign(claims(), projectKey, { alg: "ES256", kid: crypto.randomUUID() }),
    ],
    ["stranger's key, the project's kid", await sign(claims(), stranger.privateKey)],
    [
      "stranger's key embedded in the header (jwk)",
      await sign(claims(), stranger.privateKey, {
        alg: "ES256",
        kid: jwk.kid,
        jwk: await exportJWK(stranger.publicKey),
      }),
    ],
    [
      "stranger's key by URL (jku)",
      await sign(claims(), stranger.privateKey, {
        alg: "ES256",
        kid: jwk.kid,
        jku: "https://evil.example/.well-known/jwks.json",
      }),
    ],
    [
      "stranger's RS256 key, the project's kid",
      await sign(claims(), strangerRsa.privateKey, { alg: "RS256", kid: jwk.kid }),
    ],
    ["expired an hour ago", await sign(claims({ iat: now() - 7200, exp: now() - 3600 }))],
    [
      "expired 30 s ago (past the clock tolerance)",
      await sign(claims({ iat: now() - 3630, exp: now() - 30 })),
    ],
    ["not valid for an hour (nbf)", await sign(claims({ nbf: now() + 3600 }))],
    ["no exp", await sign(claims({ exp: undefined }))],
    ["audience of another app", await sign(claims({ aud: "somebody-else" }))],
    ["audience list without ours", await sign(claims({ aud: ["anon", "service_role"] }))],
    ["issuer of another project", await sign(claims({ iss: "https://evil.example/auth/v1" }))],
    ["issuer of another local stack", await sign(claims({ iss: `http://127.0.0.1:1/auth/v1` }))],
    ["issuer without /auth/v1", await sign(claims({ iss: apiUrl }))],
    [
      "unknown critical header",
      await signRaw({ alg: "ES256", kid: jwk.kid, crit: ["x-evil"], "x-evil": 1 }, claims()),
    ],
    [
      "the attacker's token with the victim's sub",
      `${ah}.${withPayload({ ...decode(attacker.accessToken.split(".")[1]), sub: victim.id })}.${as}`,
    ],
    ["the victim's token with a later exp", `${vh}.${withPayload({ exp: now() + 86400 })}.${vs}`],
    ["the victim's token with role service_role", `${vh}.${withPayload({ role: "service_role" })}.${vs}`],
    ["the victim's token without its signature", `${vh}.${vp}.`],
    ["the victim's token with another signature", `${vh}.${vp}.${as}`],
    ["project-signed, role service_role", await sign(claims({ role: "service_role" }))],
    ["project-signed, role anon", await sign(claims({ role: "anon" }))],
    ["project-signed, sub not a uuid", await sign(claims({ sub: "admin" }))],
    ["the anon key", anonKey],
    ["the service-role key", serviceRoleKey],
    ["an API key that was never issued", `nx_${b64url(crypto.getRandomValues(new Uint8Array(32)))}`],
  ];
}

Deno.test({
  name: "forged, expired, misaddressed and tampered tokens: 401 on every endpoint, nothing recorded",
  ...opts,
  fn: async () => {
    const t = await victimWithData();
    const list = endpoints({ ...t, friendId: t.friend.id, attackerEmail: t.attacker.email });
    const tokens = await forgeries(t.victim, t.attacker);
    const watched = [t.victim.id, t.friend.id, t.attacker.id];
    const before = await rowSnapshot(watched);

    const cases = tokens.flatMap(([kind, token]) => list.map((e) => ({ kind, token, e })));
    await pooled(cases, 6, async ({ kind, token, e }) => {
      const what = `${kind} → ${e.method} /${e.path}`;
      const res = await send(e, token);
      const text = await res.text();
      assert.equal(res.status, 401, `${what}: ${res.status} ${text.slice(0, 200)}`);
      const error = assertErrorShape(401, text, { openai: e.openai, what });
      if (e.openai) assert.equal((error as { type?: string }).type, "authentication_error", what);
      else assert.equal(error.code, "unauthorized", what);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/, `${what}: WWW-Authenticate`);
      assert.equal(res.headers.get("x-user-tier"), null, `${what}: a refusal tells nothing of the account`);
      assert.equal(res.headers.get("x-quota-remaining"), null, `${what}: nor its quota`);
    });
    assert.equal(cases.length, tokens.length * list.length);
    await assertNothingChanged(watched, before, "after the forged requests");

    // The harness can see a change: the victim's real token still works, and its write shows.
    const res = await send(
      { method: "PATCH", path: "account", body: { displayName: "Still me" } },
      t.victim.accessToken,
    );
    assert.equal(res.status, 200);
    assert.equal((await res.json()).profile.displayName, "Still me");
    await assert.rejects(assertNothingChanged(watched, before, "after a real write"), /\bprofiles\.id\b/);
  },
});

Deno.test({
  name: "a valid token of a deleted user: 401 on every write, never a 500, nothing recreated",
  ...opts,
  fn: async () => {
    const ghost = await newUser("jwt-ghost");
    await database()`delete from auth.users where id = ${ghost.id}`;
    const writes: Endpoint[] = [
      { method: "POST", path: "chat", body: { messages: [{ role: "user", content: "hi" }], stream: false } },
      {
        method: "POST",
        path: "openai/chat/completions",
        body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
        openai: true,
      },
      { method: "PATCH", path: "account", body: { displayName: "ghost" } },
      { method: "POST", path: "account/keys", body: { name: "ghost" } },
      { method: "POST", path: "conversations", body: { title: "ghost" } },
      { method: "GET", path: "account" },
      { method: "GET", path: "models" },
    ];
    for (const e of writes) {
      const res = await send(e, ghost.accessToken);
      const text = await res.text();
      assert.equal(res.status, 401, `${e.method} /${e.path}: ${res.status} ${text.slice(0, 200)}`);
      assertErrorShape(401, text, { openai: e.openai, what: `${e.method} /${e.path}` });
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/, `${e.method} /${e.path}`);
    }
    const snapshot = await rowSnapshot([ghost.id]);
    for (const [table, value] of Object.entries(snapshot)) {
      if (!table.endsWith(".conversation_id")) {
        assert.match(value, /^0:/, `no ${table} row for the deleted user`);
      }
    }
  },
});

Deno.test({
  name: "a key that was never issued is refused before its body is read or counted: 401, never 400",
  ...opts,
  fn: async () => {
    const key = `nx_${b64url(crypto.getRandomValues(new Uint8Array(32)))}`;
    const bodies: [string, string][] = [
      ["not JSON", "{"],
      ["not a request", JSON.stringify({ model: 42 })],
      // a prompt built to be slow to count: its key is checked first
      [
        "a long prompt",
        JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "a".repeat(90_000) }] }),
      ],
    ];
    for (const [what, body] of bodies) {
      const res = await fetch(functionsUrl("openai/chat/completions"), {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body,
      });
      const text = await res.text();
      assert.equal(res.status, 401, `${what}: ${res.status} ${text.slice(0, 200)}`);
      assert.equal(
        (assertErrorShape(401, text, { openai: true, what }) as { type?: string }).type,
        "authentication_error",
      );
    }
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
