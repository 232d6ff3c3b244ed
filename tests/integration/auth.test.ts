// The Auth stand-in, driven only through the official client (@supabase/supabase-js), as an app
// would use Supabase Auth. Database reads check what Auth left behind (the profile rows the
// signup trigger creates, the refresh tokens a reuse revokes); the one database write ages a
// revoked refresh token past the reuse interval instead of sleeping through it.

import assert from "node:assert/strict";
import postgres from "postgres";
import {
  AuthApiError,
  AuthSessionMissingError,
  AuthWeakPasswordError,
  createClient,
  type Session,
  type SupabaseClient,
} from "@supabase/supabase-js";
import { stack } from "../support/stack.ts";

const PASSWORD = "correct-horse-1";

function client(): SupabaseClient {
  const { apiUrl, anonKey } = stack();
  return createClient(apiUrl, anonKey, { auth: { persistSession: false, autoRefreshToken: false } });
}

function uniqueEmail(tag: string): string {
  return `auth-${tag}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

async function withDb<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(stack().dbUrl, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Signs a new user up and returns the client holding its session. */
async function signedUp(tag: string, data?: Record<string, unknown>) {
  const supabase = client();
  const email = uniqueEmail(tag);
  const { data: result, error } = await supabase.auth.signUp({
    email,
    password: PASSWORD,
    options: { data },
  });
  assert.equal(error, null);
  assert.ok(result.session, "signUp returns a session (email confirmations are off)");
  return { supabase, email, session: result.session };
}

/** Pretends the revoked refresh token was revoked a minute ago: past the 10 s reuse interval. */
async function ageRefreshToken(token: string) {
  await withDb((sql) =>
    sql`update auth.refresh_tokens set updated_at = updated_at - interval '1 minute' where token = ${token}`
  );
}

function decodeClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(payload));
}

Deno.test("signUp creates a confirmed user, its profile, and returns a session", async () => {
  const supabase = client();
  const email = uniqueEmail("Signup").replace("auth-", "Auth-"); // mixed case: stored lower-case
  const { data, error } = await supabase.auth.signUp({
    email,
    password: PASSWORD,
    options: { data: { display_name: "Ada Lovelace" } },
  });
  assert.equal(error, null);
  const { session, user } = data;
  assert.ok(session && user);
  assert.equal(session.token_type, "bearer");
  // supabase-js recomputes expires_in from expires_at on arrival: a second may have passed
  assert.ok(session.expires_in! >= 3595 && session.expires_in! <= 3600, `expires_in ${session.expires_in}`);
  assert.ok(Math.abs(session.expires_at! - (Math.floor(Date.now() / 1000) + 3600)) <= 5);
  assert.match(session.refresh_token, /^[a-z0-9]{12}$/);

  assert.equal(user.email, email.toLowerCase());
  assert.equal(user.aud, "authenticated");
  assert.equal(user.role, "authenticated");
  assert.equal(user.phone, "");
  assert.ok(user.email_confirmed_at, "auto-confirmed");
  assert.equal(user.confirmed_at, user.email_confirmed_at);
  assert.ok(user.last_sign_in_at);
  assert.equal(user.is_anonymous, false);
  assert.deepEqual(user.app_metadata, { provider: "email", providers: ["email"] });
  assert.deepEqual(user.user_metadata, {
    display_name: "Ada Lovelace",
    sub: user.id,
    email: email.toLowerCase(),
    email_verified: true,
    phone_verified: false,
  });
  assert.equal(user.identities?.length, 1);
  const identity = user.identities![0];
  assert.equal(identity.provider, "email");
  assert.equal(identity.id, user.id);
  assert.equal(identity.user_id, user.id);
  assert.equal(identity.identity_data?.email, email.toLowerCase());

  // The session is usable straight away.
  const { data: me, error: meError } = await supabase.auth.getUser();
  assert.equal(meError, null);
  assert.equal(me.user?.id, user.id);

  // The product's trigger on auth.users made the profile and the free subscription.
  await withDb(async (sql) => {
    const [profile] = await sql`select email, display_name from public.profiles where id = ${user.id}`;
    assert.deepEqual({ ...profile }, { email: email.toLowerCase(), display_name: "Ada Lovelace" });
    const [sub] = await sql`select tier, status from public.subscriptions where user_id = ${user.id}`;
    assert.deepEqual({ ...sub }, { tier: "free", status: "active" });
    const [hash] = await sql`select encrypted_password from auth.users where id = ${user.id}`;
    assert.match(hash.encrypted_password, /^\$2a\$10\$/, "bcrypt, cost 10");
  });
});

Deno.test("signInWithPassword issues a new session; getUser and getClaims accept its token", async () => {
  const { email, session: signupSession } = await signedUp("signin", { display_name: "Grace" });
  const supabase = client();
  const { data, error } = await supabase.auth.signInWithPassword({
    email: email.toUpperCase(),
    password: PASSWORD,
  });
  assert.equal(error, null);
  const session = data.session!;
  assert.equal(data.user?.id, signupSession.user.id);
  assert.notEqual(session.refresh_token, signupSession.refresh_token);
  assert.ok(Date.parse(data.user!.last_sign_in_at!) > Date.parse(signupSession.user.last_sign_in_at!));

  const { data: me, error: meError } = await supabase.auth.getUser();
  assert.equal(meError, null);
  assert.equal(me.user?.email, email);
  assert.equal(me.user?.user_metadata.display_name, "Grace");

  // getClaims verifies the ES256 signature against /auth/v1/.well-known/jwks.json.
  const { data: verified, error: claimsError } = await supabase.auth.getClaims();
  assert.equal(claimsError, null);
  const { claims, header } = verified!;
  assert.equal(header.alg, "ES256");
  assert.ok(header.kid);
  assert.equal(claims.iss, `${stack().apiUrl}/auth/v1`);
  assert.equal(claims.sub, me.user!.id);
  assert.equal(claims.aud, "authenticated");
  assert.equal(claims.role, "authenticated");
  assert.equal(claims.email, email);
  assert.equal(claims.phone, "");
  assert.equal(claims.exp - claims.iat, 3600);
  assert.equal(claims.aal, "aal1");
  assert.equal(claims.is_anonymous, false);
  assert.deepEqual(claims.app_metadata, { provider: "email", providers: ["email"] });
  assert.equal(claims.user_metadata?.display_name, "Grace");
  assert.equal(claims.amr?.length, 1);
  const amr = claims.amr![0] as { method: string; timestamp: number };
  assert.equal(amr.method, "password");
  assert.ok(Math.abs(amr.timestamp - claims.iat) <= 5);
  assert.match(String(claims.session_id), /^[0-9a-f-]{36}$/);
  assert.notEqual(claims.session_id, decodeClaims(signupSession.access_token).session_id, "a new session");
  // Exactly Supabase's claim set, nothing more.
  assert.deepEqual(Object.keys(claims).sort(), [
    "aal",
    "amr",
    "app_metadata",
    "aud",
    "email",
    "exp",
    "iat",
    "is_anonymous",
    "iss",
    "phone",
    "role",
    "session_id",
    "sub",
    "user_metadata",
  ]);

  // A token whose signature was tampered with is refused by the server.
  const [h, p, s] = session.access_token.split(".");
  const forged = `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
  const { error: forgedError } = await supabase.auth.getUser(forged);
  assert.ok(forgedError instanceof AuthApiError);
  assert.equal(forgedError.status, 403);
  assert.equal(forgedError.code, "bad_jwt");
});

Deno.test("wrong or unknown credentials are invalid_credentials (400)", async () => {
  const { email } = await signedUp("badlogin");
  const supabase = client();
  for (
    const attempt of [{ email, password: "not-the-password" }, {
      email: uniqueEmail("nobody"),
      password: PASSWORD,
    }]
  ) {
    const { data, error } = await supabase.auth.signInWithPassword(attempt);
    assert.ok(error instanceof AuthApiError, `${attempt.email}: ${error}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, "invalid_credentials");
    assert.equal(error.message, "Invalid login credentials");
    assert.equal(data.session, null);
  }
});

Deno.test("signUp refuses a registered email, a weak password and a malformed email", async () => {
  const { email } = await signedUp("dupe");
  const supabase = client();

  const dup = await supabase.auth.signUp({ email: email.toUpperCase(), password: PASSWORD });
  assert.ok(dup.error instanceof AuthApiError);
  assert.equal(dup.error.status, 422);
  assert.equal(dup.error.code, "user_already_exists");
  assert.equal(dup.data.session, null);

  const weakEmail = uniqueEmail("weak");
  const weak = await supabase.auth.signUp({ email: weakEmail, password: "12345" });
  assert.ok(weak.error instanceof AuthWeakPasswordError, String(weak.error));
  assert.equal(weak.error.status, 422);
  assert.equal(weak.error.code, "weak_password");
  assert.deepEqual(weak.error.reasons, ["length"]);

  const bad = await supabase.auth.signUp({ email: "not-an-email@", password: PASSWORD });
  assert.ok(bad.error instanceof AuthApiError);
  assert.equal(bad.error.status, 400);
  assert.equal(bad.error.code, "validation_failed");

  // Nothing was created for the refused signups.
  await withDb(async (sql) => {
    const rows = await sql`select 1 from auth.users where email in (${weakEmail}, 'not-an-email@')`;
    assert.equal(rows.length, 0);
    const [{ count }] = await sql`select count(*)::int as count from auth.users where email = ${email}`;
    assert.equal(count, 1);
  });
});

Deno.test("concurrent signUps with one email create exactly one user", async () => {
  const email = uniqueEmail("race");
  const results = await Promise.all(
    Array.from({ length: 5 }, () => client().auth.signUp({ email, password: PASSWORD })),
  );
  const ok = results.filter((r) => r.error === null);
  const refused = results.filter((r) => r.error !== null);
  assert.equal(ok.length, 1);
  for (const r of refused) assert.equal((r.error as AuthApiError).code, "user_already_exists");
  await withDb(async (sql) => {
    const [{ count }] = await sql`select count(*)::int as count from public.profiles where email = ${email}`;
    assert.equal(count, 1);
  });
});

Deno.test("refreshSession rotates the refresh token and detects reuse", async () => {
  const { supabase, session: s0 } = await signedUp("refresh");
  const A = s0.refresh_token;

  const r1 = await supabase.auth.refreshSession({ refresh_token: A });
  assert.equal(r1.error, null);
  const B = r1.data.session!.refresh_token;
  assert.notEqual(B, A);
  assert.equal(r1.data.user?.id, s0.user.id);
  assert.equal(r1.data.user?.last_sign_in_at, s0.user.last_sign_in_at, "a refresh is not a sign-in");
  assert.equal(
    decodeClaims(r1.data.session!.access_token).session_id,
    decodeClaims(s0.access_token).session_id,
  );
  const { error: meError } = await supabase.auth.getUser(r1.data.session!.access_token);
  assert.equal(meError, null);

  // The parent of the active token again (a client that lost the answer): the same token back.
  const again = await supabase.auth.refreshSession({ refresh_token: A });
  assert.equal(again.error, null);
  assert.equal(again.data.session!.refresh_token, B);

  const r2 = await supabase.auth.refreshSession({ refresh_token: B });
  assert.equal(r2.error, null);
  const C = r2.data.session!.refresh_token;
  assert.ok(C !== A && C !== B);

  // A, two generations old and revoked longer ago than the reuse interval: an attack.
  await ageRefreshToken(A);
  const reuse = await supabase.auth.refreshSession({ refresh_token: A });
  assert.ok(reuse.error instanceof AuthApiError, String(reuse.error));
  assert.equal(reuse.error.status, 400);
  assert.equal(reuse.error.code, "refresh_token_already_used");
  assert.equal(reuse.data.session, null);

  // ...which revoked the whole session's token family, the current token C included.
  const sessionId = decodeClaims(s0.access_token).session_id as string;
  await withDb(async (sql) => {
    const active =
      await sql`select token from auth.refresh_tokens where session_id = ${sessionId} and not revoked`;
    assert.deepEqual([...active], []);
    const [c] = await sql`select parent, revoked from auth.refresh_tokens where token = ${C}`;
    assert.deepEqual({ ...c }, { parent: B, revoked: true });
  });
  await ageRefreshToken(C);
  const afterReuse = await supabase.auth.refreshSession({ refresh_token: C });
  assert.equal((afterReuse.error as AuthApiError)?.code, "refresh_token_already_used");

  // A token that was never issued, and one that is not even well-formed.
  const unknown = await supabase.auth.refreshSession({ refresh_token: "zzzzzzzzzzzz" });
  assert.ok(unknown.error instanceof AuthApiError);
  assert.equal(unknown.error.status, 400);
  assert.equal(unknown.error.code, "refresh_token_not_found");
  const malformed = await supabase.auth.refreshSession({ refresh_token: "short" });
  assert.equal((malformed.error as AuthApiError)?.code, "validation_failed");
});

Deno.test("concurrent refreshes of one token all get the same rotated token", async () => {
  const { session } = await signedUp("concurrent-refresh");
  const results = await Promise.all(
    Array.from({ length: 4 }, () => client().auth.refreshSession({ refresh_token: session.refresh_token })),
  );
  for (const r of results) assert.equal(r.error, null);
  const tokens = new Set(results.map((r) => r.data.session!.refresh_token));
  assert.equal(tokens.size, 1);
  assert.ok(!tokens.has(session.refresh_token));
});

Deno.test("updateUser merges metadata and changes the password", async () => {
  const { supabase, email, session } = await signedUp("update", { display_name: "Old", theme: "light" });
  const other = client(); // a second sign-in, which a password change signs out
  const { data: otherLogin } = await other.auth.signInWithPassword({ email, password: PASSWORD });
  const otherSession: Session = otherLogin.session!;

  const merged = await supabase.auth.updateUser({ data: { display_name: "New", plan: "pro" } });
  assert.equal(merged.error, null);
  const meta = merged.data.user!.user_metadata;
  assert.equal(meta.display_name, "New");
  assert.equal(meta.plan, "pro");
  assert.equal(meta.theme, "light", "keys not sent are kept");
  assert.equal(meta.sub, session.user.id);
  assert.ok(Date.parse(merged.data.user!.updated_at!) > Date.parse(session.user.updated_at!));

  const removed = await supabase.auth.updateUser({ data: { theme: null } });
  assert.equal(removed.error, null);
  assert.ok(!("theme" in removed.data.user!.user_metadata), "a null value removes the key");

  // The server has it too (a fresh GET /user), and new access tokens carry it.
  const { data: fresh } = await supabase.auth.getUser();
  assert.equal(fresh.user?.user_metadata.display_name, "New");
  const refreshed = await supabase.auth.refreshSession();
  assert.equal(
    (decodeClaims(refreshed.data.session!.access_token).user_metadata as Record<string, unknown>).plan,
    "pro",
  );

  const weak = await supabase.auth.updateUser({ password: "123" });
  assert.ok(weak.error instanceof AuthWeakPasswordError);
  const same = await supabase.auth.updateUser({ password: PASSWORD });
  assert.equal((same.error as AuthApiError)?.code, "same_password");
  assert.equal((same.error as AuthApiError)?.status, 422);

  const newPassword = "battery-staple-2";
  const changed = await supabase.auth.updateUser({ password: newPassword });
  assert.equal(changed.error, null);

  const oldLogin = await client().auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal((oldLogin.error as AuthApiError)?.code, "invalid_credentials");
  const newLogin = await client().auth.signInWithPassword({ email, password: newPassword });
  assert.equal(newLogin.error, null);
  assert.equal(newLogin.data.user?.id, session.user.id);

  // The changing session survives; the other one was signed out.
  const { error: mine } = await supabase.auth.getUser();
  assert.equal(mine, null);
  const { error: theirs } = await other.auth.getUser(otherSession.access_token);
  assert.ok(theirs instanceof AuthSessionMissingError, String(theirs));
});

Deno.test("updateUser changes the email and refuses one that is taken", async () => {
  const { supabase, session } = await signedUp("email-change");
  const { email: taken } = await signedUp("email-taken");

  const clash = await supabase.auth.updateUser({ email: taken });
  assert.equal((clash.error as AuthApiError)?.code, "email_exists");
  assert.equal((clash.error as AuthApiError)?.status, 422);

  const next = uniqueEmail("email-new");
  const changed = await supabase.auth.updateUser({ email: next });
  assert.equal(changed.error, null);
  assert.equal(changed.data.user?.email, next);
  const login = await client().auth.signInWithPassword({ email: next, password: PASSWORD });
  assert.equal(login.error, null);
  await withDb(async (sql) => {
    const [profile] = await sql`select email from public.profiles where id = ${session.user.id}`;
    assert.equal(profile.email, next, "the product's trigger followed the change");
  });
});

Deno.test("signOut ends the session server-side", async () => {
  const { supabase, session } = await signedUp("signout");
  const { error } = await supabase.auth.signOut();
  assert.equal(error, null);

  // The old access token is still well-signed, but its session is gone.
  const { error: userError } = await client().auth.getUser(session.access_token);
  assert.ok(userError instanceof AuthSessionMissingError, String(userError));
  // ...and so is its refresh token.
  const refresh = await client().auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal((refresh.error as AuthApiError)?.code, "refresh_token_not_found");
});

Deno.test("signOut scopes: local ends only this session, others all but this one", async () => {
  const { email } = await signedUp("scopes");
  const sessions: { supabase: SupabaseClient; session: Session }[] = [];
  for (let i = 0; i < 3; i++) {
    const supabase = client();
    const { data, error } = await supabase.auth.signInWithPassword({ email, password: PASSWORD });
    assert.equal(error, null);
    sessions.push({ supabase, session: data.session! });
  }
  const alive = async (s: Session) => (await client().auth.getUser(s.access_token)).error === null;

  await sessions[0].supabase.auth.signOut({ scope: "local" });
  assert.deepEqual(await Promise.all(sessions.map((s) => alive(s.session))), [false, true, true]);

  await sessions[1].supabase.auth.signOut({ scope: "others" });
  assert.deepEqual(await Promise.all(sessions.map((s) => alive(s.session))), [false, true, false]);

  await sessions[1].supabase.auth.signOut(); // global
  assert.deepEqual(await Promise.all(sessions.map((s) => alive(s.session))), [false, false, false]);
});
