// A verified access token may name a user the database no longer has: a user deleted while
// their token (valid for up to an hour; verification is stateless) is still in use. A write
// that references the user then fails on its foreign key. That is the token's fault, a 401
// like any other unknown user, not a server error.

import { unauthorized } from "./verify.ts";
import { quotaOf } from "../metering.ts";
import type { QuotaSnapshot } from "../http/user-context.ts";

const FOREIGN_KEY_VIOLATION = "23503";

/** Runs a write whose only foreign key is the caller's user id; a missing user becomes a 401. */
export async function asKnownUser<T>(write: PromiseLike<T>): Promise<T> {
  try {
    return await write;
  } catch (e) {
    if ((e as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw unauthorized("Unknown user");
    throw e;
  }
}

/**
 * The caller's quota (what the user-context headers say), or a 401 for a user the database no
 * longer has: reads then answer as writes do, instead of with empty lists. It is the query the
 * response's headers need anyway, so it costs no extra round trip.
 */
export async function knownUserQuota(userId: string): Promise<QuotaSnapshot> {
  const quota = await quotaOf(userId);
  if (!quota) throw unauthorized("Unknown user");
  return quota;
}
