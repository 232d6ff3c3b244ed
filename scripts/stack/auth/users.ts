// auth.users and auth.identities: reads and the writes GoTrue makes to them. Every statement
// is parameterized; callers pass the pool or a transaction.

import type postgres from "postgres";
import type { IdentityRow, Metadata, UserRow } from "./user-json.ts";

export type Db = postgres.ISql;

/** A jsonb parameter. (A JSON *string* cast to jsonb would be encoded twice: postgres.js
 * serializes every parameter whose type the server reports as json/jsonb.) */
const jsonb = (db: Db, value: Metadata) => db.json(value as postgres.JSONValue);

/** GoTrue writes instance_id as the nil UUID (a leftover of its multi-tenant days). */
const NIL_UUID = "00000000-0000-0000-0000-000000000000";
export const AUDIENCE = "authenticated";
export const ROLE = "authenticated";

// Timestamps are formatted by Postgres so that they keep their microseconds, as GoTrue's do.
const userColumns = (db: Db) =>
  db`
    u.id, u.aud, u.role, u.email, u.encrypted_password, u.phone,
    u.raw_app_meta_data, u.raw_user_meta_data, u.is_anonymous,
    coalesce(u.banned_until > now(), false) as banned,
    to_char(u.email_confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as email_confirmed_at,
    to_char(u.invited_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as invited_at,
    to_char(u.phone_confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as phone_confirmed_at,
    to_char(u.confirmation_sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as confirmation_sent_at,
    to_char(u.confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as confirmed_at,
    to_char(u.last_sign_in_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as last_sign_in_at,
    to_char(u.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at,
    to_char(u.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as updated_at,
    to_char(u.banned_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as banned_until,
    to_char(u.deleted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as deleted_at`;

export async function findUserById(db: Db, id: string): Promise<UserRow | null> {
  const [row] = await db<UserRow[]>`select ${userColumns(db)} from auth.users u where u.id = ${id}`;
  return row ?? null;
}

/** Email users only (not SSO ones), as GoTrue's FindUserByEmailAndAudience. `email` must already
 * be lower-case; the partial unique index on email serves the lookup. */
export async function findUserByEmail(db: Db, email: string): Promise<UserRow | null> {
  const [row] = await db<UserRow[]>`
    select ${userColumns(db)} from auth.users u
    where u.email = ${email} and u.is_sso_user = false and u.aud = ${AUDIENCE}`;
  return row ?? null;
}

export async function findIdentities(db: Db, userId: string): Promise<IdentityRow[]> {
  return await db<IdentityRow[]>`
    select i.id, i.provider_id, i.user_id, i.identity_data, i.provider, i.email,
      to_char(i.last_sign_in_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as last_sign_in_at,
      to_char(i.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at,
      to_char(i.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as updated_at
    from auth.identities i where i.user_id = ${userId}
    order by i.created_at, i.id`;
}

export interface NewEmailUser {
  email: string;
  passwordHash: string;
  /** The `data` of the signup request. */
  data: Metadata;
  /** Confirmed at once (autoconfirm), or left for the email link to confirm. */
  confirmed: boolean;
}

/**
 * Creates an email user and its `email` identity, as GoTrue's signup leaves them:
 * identity_data is `{sub, email, email_verified: false, phone_verified: false}` plus the signup
 * data (which cannot override those keys), and the user's metadata is that identity data
 * (user.RemoveUnconfirmedIdentities), with `email_verified: true` once confirmed (user.Confirm).
 * The insert fires the product's on_auth_user_created trigger, which reads email and
 * raw_user_meta_data. A concurrent signup with the same email fails on the unique index (23505).
 */
export async function insertEmailUser(db: Db, u: NewEmailUser): Promise<string> {
  const id = crypto.randomUUID();
  const identityData: Metadata = {
    ...u.data,
    sub: id,
    email: u.email,
    email_verified: false,
    phone_verified: false,
  };
  const userMetadata: Metadata = u.confirmed ? { ...identityData, email_verified: true } : identityData;
  const appMetadata: Metadata = { provider: "email", providers: ["email"] };
  await db`
    insert into auth.users (
      instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, confirmation_token,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_sso_user, is_anonymous
    ) values (
      ${NIL_UUID}, ${id}, ${AUDIENCE}, ${ROLE}, ${u.email}, ${u.passwordHash},
      ${u.confirmed ? db`now()` : null}, '',
      ${jsonb(db, appMetadata)}, ${jsonb(db, userMetadata)}, now(), now(), false, false
    )`;
  await db`
    insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
    values (${id}, ${id}, ${jsonb(db, identityData)}, 'email', now(), now(), now())`;
  return id;
}

/**
 * GoTrue's user.Confirm: confirmed now, the confirmation token spent, `email_verified: true` in
 * the user's metadata and every one-time token of the user gone (so no link of theirs works
 * again). `identities`: also mark the email identity verified, as confirming by link does
 * (signupVerify), unlike an autoconfirmed sign-up.
 */
export async function confirmUser(db: Db, userId: string, opts: { identities: boolean }): Promise<void> {
  await db`
    update auth.users
    set email_confirmed_at = now(), confirmation_token = '',
        raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"email_verified": true}'::jsonb,
        updated_at = now()
    where id = ${userId}`;
  await db`delete from auth.one_time_tokens where user_id = ${userId}`;
  if (opts.identities) {
    await db`
      update auth.identities i
      set identity_data = i.identity_data || '{"email_verified": true}'::jsonb, updated_at = now()
      from auth.users u
      where u.id = ${userId} and i.user_id = u.id and i.email <> '' and u.email <> '' and i.email = u.email`;
  }
}

/** A sign-in stamps last_sign_in_at (and, as every GoTrue write to a user, updated_at). */
export async function touchLastSignIn(db: Db, userId: string): Promise<void> {
  await db`update auth.users set last_sign_in_at = now(), updated_at = now() where id = ${userId}`;
}

/** A refresh rewrites the user's unchanged last_sign_in_at in GoTrue, so only updated_at moves. */
export async function touchUpdatedAt(db: Db, userId: string): Promise<void> {
  await db`update auth.users set updated_at = now() where id = ${userId}`;
}

/**
 * Merges `data` into user_metadata in one statement (no lost update between concurrent
 * requests): keys with a null value are removed, the others set, as GoTrue's
 * UpdateUserMetaData.
 */
export async function mergeUserMetadata(db: Db, userId: string, data: Metadata): Promise<void> {
  const set = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
  const remove = Object.keys(data).filter((k) => data[k] === null);
  await db`
    update auth.users
    set raw_user_meta_data = (coalesce(raw_user_meta_data, '{}'::jsonb) || ${jsonb(db, set)})
                             - ${remove}::text[],
        updated_at = now()
    where id = ${userId}`;
}

export async function setPasswordHash(db: Db, userId: string, hash: string): Promise<void> {
  await db`update auth.users set encrypted_password = ${hash}, updated_at = now() where id = ${userId}`;
}

/** Changes the email and the email identity's identity_data.email, as GoTrue's
 * ConfirmEmailChange (the product's trigger then updates the profile). */
export async function setEmail(db: Db, userId: string, email: string): Promise<void> {
  await db`update auth.users set email = ${email}, updated_at = now() where id = ${userId}`;
  await db`
    update auth.identities
    set identity_data = jsonb_set(identity_data, '{email}', to_jsonb(${email}::text)), updated_at = now()
    where user_id = ${userId} and provider = 'email' and identity_data ? 'email'`;
}

/** Whether another (non-SSO) user already has this email. */
export async function emailTaken(db: Db, email: string, exceptUserId: string): Promise<boolean> {
  const rows = await db`
    select 1 from auth.users where email = ${email} and is_sso_user = false and id <> ${exceptUserId} limit 1`;
  return rows.length > 0;
}
