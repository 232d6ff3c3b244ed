// Verifies a Supabase access token inside the function: ES256/RS256 against the project's JWKS
// (inline from SUPABASE_JWKS, else fetched from Auth and cached by jose), HS256 with the legacy
// JWT secret only when the project has one. Algorithm allow-list, exp/nbf, aud and iss are all
// checked; anything else is 401.

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { env } from "../env.ts";
import { ApiError } from "../http/errors.ts";

export interface UserClaims extends JWTPayload {
  sub: string;
  email?: string;
  role: string;
  session_id?: string;
  is_anonymous?: boolean;
}

const ASYMMETRIC = ["ES256", "RS256"];
const CLOCK_TOLERANCE_SECONDS = 5;

let keySet: JWTVerifyGetKey | undefined;
let secret: Uint8Array | undefined;

function projectKeys(): JWTVerifyGetKey {
  if (!keySet) {
    const inline = env.jwks;
    keySet = inline
      ? createLocalJWKSet(JSON.parse(inline))
      : createRemoteJWKSet(new URL(`${env.supabaseUrl}/auth/v1/.well-known/jwks.json`), {
        cacheMaxAge: 10 * 60_000,
        cooldownDuration: 30_000,
      });
  }
  return keySet;
}

export function unauthorized(message = "Missing or invalid access token"): ApiError {
  return new ApiError("unauthorized", message, undefined, { "WWW-Authenticate": "Bearer" });
}

/** The bearer token of a request, or a 401. */
export function bearerToken(req: Request): string {
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (!match) throw unauthorized("Missing bearer token");
  return match[1];
}

// Verified tokens, until they expire: a client sends the same token with every request for up
// to an hour, and a signature check costs more than the rest of the gateway's own work. The
// cache changes nothing a verification would decide (the claims are fixed; expiry is rechecked).
const VERIFIED_CACHE_SIZE = 5_000;
const verified = new Map<string, UserClaims>();

/** Verifies a user's access token; returns its claims or throws a 401 ApiError. */
export async function verifyAccessToken(token: string): Promise<UserClaims> {
  const known = verified.get(token);
  if (known) {
    if (known.exp! + CLOCK_TOLERANCE_SECONDS > Date.now() / 1000) return known; // as jose would judge it
    verified.delete(token);
  }
  const claims = await verifyUncached(token);
  if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!); // oldest first
  verified.set(token, claims);
  return claims;
}

async function verifyUncached(token: string): Promise<UserClaims> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized("Malformed access token");
  }
  const options = {
    issuer: env.jwtIssuers,
    audience: "authenticated",
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    currentDate: new Date(Date.now()), // one clock for the cache and the check
    requiredClaims: ["sub", "exp", "iat"],
  };
  let payload: JWTPayload;
  try {
    if (alg === "HS256" && env.jwtSecret) {
      secret ??= new TextEncoder().encode(env.jwtSecret);
      ({ payload } = await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] }));
    } else {
      ({ payload } = await jwtVerify(token, projectKeys(), { ...options, algorithms: ASYMMETRIC }));
    }
  } catch (e) {
    const reason = (e as { code?: string }).code === "ERR_JWT_EXPIRED"
      ? "Access token expired"
      : "Invalid access token";
    throw unauthorized(reason);
  }
  if (payload.role !== "authenticated" || typeof payload.sub !== "string" || !isUuid(payload.sub)) {
    throw unauthorized("Not a user access token");
  }
  return payload as UserClaims;
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
