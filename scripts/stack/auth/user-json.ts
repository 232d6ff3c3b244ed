// The user and identity objects exactly as GoTrue serializes them (models.User and
// models.Identity): the same keys in the same order, `omitempty` fields left out when empty,
// NULL email/phone as "", and timestamps as Go's RFC 3339 with up to microseconds.

export type Metadata = Record<string, unknown>;

/** A row of auth.users as users.ts selects it (timestamps already as ISO-8601 UTC text). */
export interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: string | null;
  invited_at: string | null;
  phone: string | null;
  phone_confirmed_at: string | null;
  confirmation_sent_at: string | null;
  confirmed_at: string | null;
  last_sign_in_at: string | null;
  raw_app_meta_data: Metadata | null;
  raw_user_meta_data: Metadata | null;
  created_at: string | null;
  updated_at: string | null;
  banned_until: string | null;
  deleted_at: string | null;
  is_anonymous: boolean;
  /** banned_until is in the future (computed by the database's clock). */
  banned: boolean;
}

export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Metadata | null;
  provider: string;
  last_sign_in_at: string | null;
  created_at: string | null;
  updated_at: string | null;
  email: string | null;
}

/** Go's time.Time JSON (RFC3339Nano): trailing zeros of the fraction are dropped. */
export function goTime(iso: string | null): string | null {
  if (iso === null) return null;
  return iso.replace(/\.(\d*?)0+Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : "Z"));
}

/** Go's zero time.Time, for the rare non-omitempty timestamp that is NULL in the table. */
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

function omitEmpty(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== null && v !== undefined));
}

export function identityJson(row: IdentityRow): Record<string, unknown> {
  return omitEmpty({
    identity_id: row.id,
    id: row.provider_id,
    user_id: row.user_id,
    identity_data: row.identity_data && Object.keys(row.identity_data).length ? row.identity_data : null,
    provider: row.provider,
    last_sign_in_at: goTime(row.last_sign_in_at),
    created_at: goTime(row.created_at) ?? GO_ZERO_TIME,
    updated_at: goTime(row.updated_at) ?? GO_ZERO_TIME,
    email: row.email || null,
  });
}

export function userJson(user: UserRow, identities: IdentityRow[]): Record<string, unknown> {
  return {
    id: user.id,
    aud: user.aud ?? "",
    role: user.role ?? "",
    email: user.email ?? "",
    ...omitEmpty({
      email_confirmed_at: goTime(user.email_confirmed_at),
      invited_at: goTime(user.invited_at),
    }),
    phone: user.phone ?? "",
    ...omitEmpty({
      phone_confirmed_at: goTime(user.phone_confirmed_at),
      confirmation_sent_at: goTime(user.confirmation_sent_at),
      confirmed_at: goTime(user.confirmed_at),
      last_sign_in_at: goTime(user.last_sign_in_at),
    }),
    app_metadata: user.raw_app_meta_data,
    user_metadata: user.raw_user_meta_data,
    identities: identities.map(identityJson),
    created_at: goTime(user.created_at) ?? GO_ZERO_TIME,
    updated_at: goTime(user.updated_at) ?? GO_ZERO_TIME,
    ...omitEmpty({
      banned_until: goTime(user.banned_until),
      deleted_at: goTime(user.deleted_at),
    }),
    is_anonymous: user.is_anonymous,
  };
}

/**
 * GoTrue's sanitizeUser: what a sign-up for an address that is already registered and confirmed
 * answers while confirmations are on — shaped like a new, unconfirmed user (a random id, no
 * identities, no session), so the answer does not tell whether the address has an account.
 */
export function sanitizedUserJson(user: UserRow, aud: string, data: Metadata): Record<string, unknown> {
  const now = new Date().toISOString();
  return userJson({
    ...user,
    id: crypto.randomUUID(),
    aud,
    role: "",
    phone: "",
    email_confirmed_at: null,
    phone_confirmed_at: null,
    confirmation_sent_at: now,
    confirmed_at: null,
    last_sign_in_at: null,
    raw_app_meta_data: { provider: "email", providers: ["email"] },
    raw_user_meta_data: data,
    created_at: now,
    updated_at: now,
  }, []);
}
