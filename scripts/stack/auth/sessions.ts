// Sessions and refresh tokens (auth.sessions, auth.refresh_tokens), with GoTrue's rotation and
// reuse detection for its classic 12-character refresh tokens (internal/tokens/service.go,
// models/refresh_token.go):
// - every refresh revokes the presented token and issues a child (`parent` = the old token);
// - presenting the *parent* of the session's active token again returns that active token
//   (the client lost the previous response; also what concurrent refreshes of one token get);
// - presenting any other revoked token is allowed only within the reuse interval after it was
//   revoked; past it, every refresh token of the session is revoked and the request fails with
//   `refresh_token_already_used` — the revocation commits even though the request fails.
// Logging out deletes sessions; their refresh tokens go with them (on delete cascade).

import type postgres from "postgres";
import { badRequest, CommitThenFail } from "./errors.ts";
import type { ClientInfo } from "./http.ts";
import { type Db, findUserById, touchLastSignIn, touchUpdatedAt } from "./users.ts";
import type { UserRow } from "./user-json.ts";

const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/** An `amr` entry of the session's access tokens: how it was authenticated, and when (seconds). */
export interface AmrEntry {
  method: string;
  timestamp: number;
}

export interface SessionRef {
  id: string;
  /** Most recent first, as GoTrue orders them. */
  amr: AmrEntry[];
}

/** How a session began, as GoTrue's AuthenticationMethod names it. */
export type AuthenticationMethod = "password" | "otp" | "email/signup";

export interface Grant {
  session: SessionRef;
  refreshToken: string;
}

/** GoTrue's crypto.SecureAlphanumeric(12): lower-case base32 of random bytes. */
export function newRefreshToken(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => alphabet[b & 31]).join("");
}

/** What GoTrue accepts as a classic refresh token before looking it up (the longer v2 format
 * is never issued here, so it cannot be valid either). */
export const isWellFormedRefreshToken = (t: string) => /^[a-z0-9]{12}$/.test(t);

async function insertRefreshToken(db: Db, userId: string, sessionId: string, parent: string | null) {
  const token = newRefreshToken();
  await db`
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
    values (${NIL_UUID}, ${token}, ${userId}, false, now(), now(), ${parent}, ${sessionId})`;
  return token;
}

/**
 * A new session with its first refresh token (a sign-in), and the claim of how it was
 * authenticated (auth.mfa_amr_claims, the access tokens' `amr`). Run inside a transaction.
 */
export async function startSession(
  db: Db,
  userId: string,
  client: ClientInfo,
  method: AuthenticationMethod = "password",
): Promise<Grant> {
  const [s] = await db<{ id: string; created: string }[]>`
    insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
    values (${crypto.randomUUID()}, ${userId}, now(), now(), 'aal1', ${client.userAgent}, ${client.ip}::inet)
    returning id, floor(extract(epoch from created_at))::bigint::text as created`;
  await db`
    insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
    values (${crypto.randomUUID()}, ${s.id}, now(), now(), ${method})`;
  const refreshToken = await insertRefreshToken(db, userId, s.id, null);
  await touchLastSignIn(db, userId);
  return { session: { id: s.id, amr: [{ method, timestamp: Number(s.created) }] }, refreshToken };
}

/** The `amr` of the session aliased `s`, from its claims; a session older than the claims table
 * began with a password. */
const sessionAmr = (db: Db) =>
  db`coalesce(
    (select jsonb_agg(jsonb_build_object('method', c.authentication_method,
                                         'timestamp', floor(extract(epoch from c.updated_at))::bigint)
                      order by c.updated_at desc)
     from auth.mfa_amr_claims c where c.session_id = s.id),
    jsonb_build_array(jsonb_build_object('method', 'password',
                                         'timestamp', floor(extract(epoch from s.created_at))::bigint)))`;

interface TokenRow {
  id: string;
  token: string;
  user_id: string | null;
  revoked: boolean | null;
  session_id: string | null;
  past_reuse_interval: boolean;
}

const tokenNotFound = () =>
  badRequest("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");

/**
 * The refresh_token grant. Returns the user and the grant to answer with, or throws an
 * AuthError. Locks the session row, then the token row, then the user row (updated_at):
 * the order in which logging out (deleting sessions, cascading to their tokens) and a password
 * change (sessions, then the user) take them, so none of them can deadlock with a refresh.
 * Concurrent refreshes of one session are serialized by the session lock.
 */
export async function refreshGrant(
  sql: postgres.Sql,
  token: string,
  client: ClientInfo,
  reuseIntervalSeconds: number,
): Promise<{ user: UserRow; grant: Grant }> {
  const outcome = await sql.begin(async (tx) => {
    const [peek] = await tx<{ session_id: string | null }[]>`
      select session_id from auth.refresh_tokens where token = ${token}`;
    if (!peek) throw tokenNotFound();

    const [session] = peek.session_id
      ? await tx<{ id: string; amr: AmrEntry[]; expired: boolean }[]>`
          select s.id, ${sessionAmr(tx)} as amr, coalesce(s.not_after < now(), false) as expired
          from auth.sessions s where s.id = ${peek.session_id} for no key update of s`
      : [];

    const [row] = await tx<TokenRow[]>`
      select id::text, token, user_id, revoked, session_id,
             now() > updated_at + make_interval(secs => ${reuseIntervalSeconds}) as past_reuse_interval
      from auth.refresh_tokens where token = ${token} for update`;
    // Gone (its session was logged out meanwhile) or moved: as if it never existed.
    if (!row || row.session_id !== peek.session_id) throw tokenNotFound();

    const user = row.user_id && isUuid(row.user_id) ? await findUserById(tx, row.user_id) : null;
    if (!user) throw tokenNotFound();
    if (user.banned) throw badRequest("user_banned", "Invalid Refresh Token: User Banned");
    if (!session) {
      throw badRequest("session_not_found", "Invalid Refresh Token: No Valid Session Found");
    }
    if (session.expired) throw badRequest("session_expired", "Invalid Refresh Token: Session Expired");

    let issued: string | null = null;
    if (row.revoked) {
      const [active] = await tx<{ token: string; parent: string | null }[]>`
        select token, parent from auth.refresh_tokens
        where session_id = ${session.id} and revoked = false
        order by id desc limit 1`;
      if (active && active.parent === row.token) {
        issued = active.token; // the client never stored the previous answer: give it again
      } else if (row.past_reuse_interval) {
        await tx`
          update auth.refresh_tokens set revoked = true, updated_at = now()
          where session_id = ${session.id} and revoked = false`;
        return new CommitThenFail(
          badRequest("refresh_token_already_used", "Invalid Refresh Token: Already Used"),
        );
      }
    }
    if (issued === null) {
      await tx`update auth.refresh_tokens set revoked = true, updated_at = now() where id = ${row.id}`;
      issued = await insertRefreshToken(tx, user.id, session.id, row.token);
      await touchUpdatedAt(tx, user.id);
    }
    await tx`
      update auth.sessions
      set refreshed_at = timezone('UTC', now()), user_agent = ${client.userAgent}, ip = ${client.ip}::inet,
          updated_at = now()
      where id = ${session.id}`;
    return {
      userId: user.id,
      grant: { session: { id: session.id, amr: session.amr }, refreshToken: issued },
    };
  });
  if (outcome instanceof CommitThenFail) throw outcome.error;
  // Read the user after the commit so the answer shows what was just written.
  const user = await findUserById(sql, outcome.userId);
  if (!user) throw tokenNotFound();
  return { user, grant: outcome.grant };
}

export async function sessionExists(db: Db, sessionId: string): Promise<{ created: number } | null> {
  const [s] = await db<{ created: string }[]>`
    select floor(extract(epoch from created_at))::bigint::text as created from auth.sessions where id = ${sessionId}`;
  return s ? { created: Number(s.created) } : null;
}

export type LogoutScope = "global" | "local" | "others";

/** GoTrue's Logout: `global` ends every session of the user, `local` the current one, `others`
 * all but the current one. Without a session (a token with no session_id) it is global. */
export async function logout(
  db: Db,
  userId: string,
  sessionId: string | null,
  scope: LogoutScope,
): Promise<void> {
  if (sessionId && scope === "local") {
    await db`delete from auth.sessions where id = ${sessionId}`;
  } else if (sessionId && scope === "others") {
    await db`delete from auth.sessions where user_id = ${userId} and id <> ${sessionId}`;
  } else {
    await db`delete from auth.sessions where user_id = ${userId}`;
  }
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
