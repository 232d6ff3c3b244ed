// GoTrue's requireAuthentication (internal/api/auth.go) for /user and /logout: a Bearer token
// signed by the project key and unexpired, whose `sub` is an existing user and whose
// `session_id` (when present) is a live session. The failure codes matter to supabase-js:
// `session_not_found` becomes AuthSessionMissingError, `bad_jwt` an AuthApiError.

import { createLocalJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import type { ProjectKeys } from "../keys.ts";
import { AuthError, forbidden } from "./errors.ts";
import { bearerToken } from "./http.ts";
import { isUuid, sessionExists } from "./sessions.ts";
import { type Db, findUserById } from "./users.ts";
import type { UserRow } from "./user-json.ts";

export interface Authenticated {
  claims: JWTPayload & { session_id?: unknown };
  user: UserRow;
  /** The token's session, or null for a token without session_id. */
  session: { id: string; createdAt: number } | null;
}

export type Verifier = (token: string) => Promise<JWTPayload>;

/** Verifies against the project's own JWKS, ES256 only (the key keys.ts makes). */
export function makeVerifier(keys: ProjectKeys): Verifier {
  const jwks = createLocalJWKSet(keys.jwks);
  return async (token) => (await jwtVerify(token, jwks, { algorithms: ["ES256"] })).payload;
}

/** golang-jwt's wording for the same failures, after GoTrue's prefix. */
function describeJwtError(e: unknown): string {
  if (e instanceof errors.JWTExpired) return "token has invalid claims: token is expired";
  if (e instanceof errors.JWTClaimValidationFailed) return `token has invalid claims: ${e.message}`;
  if (e instanceof errors.JWSSignatureVerificationFailed) {
    return "token signature is invalid: crypto/ecdsa: verification error";
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return `token signature is invalid: ${e.message}`;
  if (e instanceof errors.JWKSNoMatchingKey) {
    return "token is unverifiable: error while executing keyfunc: unrecognized JWT kid";
  }
  return `token is malformed: ${e instanceof Error ? e.message : String(e)}`;
}

export async function authenticate(db: Db, verify: Verifier, req: Request): Promise<Authenticated> {
  const token = bearerToken(req);
  if (!token) throw new AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token");

  let claims: Authenticated["claims"];
  try {
    claims = await verify(token);
  } catch (e) {
    throw forbidden("bad_jwt", `invalid JWT: unable to parse or verify signature, ${describeJwtError(e)}`);
  }

  if (typeof claims.sub !== "string" || claims.sub === "") {
    throw forbidden("bad_jwt", "invalid claim: missing sub claim");
  }
  if (!isUuid(claims.sub)) throw new AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID");
  const user = await findUserById(db, claims.sub);
  if (!user) throw forbidden("user_not_found", "User from sub claim in JWT does not exist");

  let session: Authenticated["session"] = null;
  const sid = claims.session_id;
  if (typeof sid === "string" && sid !== "" && sid !== "00000000-0000-0000-0000-000000000000") {
    if (!isUuid(sid)) throw forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID");
    const found = await sessionExists(db, sid);
    if (!found) throw forbidden("session_not_found", "Session from session_id claim in JWT does not exist");
    session = { id: sid, createdAt: found.created };
  }

  if (user.banned) throw forbidden("user_banned", "User is banned");
  return { claims, user, session };
}
