// JWT checks as Realtime makes them (RealtimeWeb.JwtVerification + ChannelsAuthorization
// .authorize_conn): the signer is picked from the token's header (asymmetric algorithms need a
// `kid` found in the project's JWKS), the signature is verified, then `exp` must lie in the
// future and `iat`, when present, be a number, and finally `role` and `exp` must both be there.
// The project has no legacy HS256 secret, so HS* tokens never verify.

import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK, type JWK } from "jose";

export type Claims = Record<string, unknown> & { role: string; exp: number; sub?: string };

export type TokenError =
  | { error: "expired_token"; message: string }
  | { error: "missing_claims" }
  | { error: "token_malformed" }
  | { error: "signature_error" }
  | { error: "signer_error"; kid?: string }
  | { error: "invalid_claims"; claim: string };

export type TokenResult = { ok: true; claims: Claims } | ({ ok: false } & TokenError);

export type TokenVerifier = (token: unknown) => Promise<TokenResult>;

const ASYMMETRIC: Record<string, string> = {
  RS256: "RSA",
  RS384: "RSA",
  RS512: "RSA",
  ES256: "EC",
  ES384: "EC",
  ES512: "EC",
  EdDSA: "OKP",
  Ed25519: "OKP",
};

export function makeTokenVerifier(jwks: { keys: JWK[] }): TokenVerifier {
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  const keyFor = (jwk: JWK, alg: string) => {
    const id = `${jwk.kid}/${alg}`;
    let key = imported.get(id);
    if (!key) {
      key = importJWK(jwk, alg === "Ed25519" ? "EdDSA" : alg);
      imported.set(id, key);
    }
    return key;
  };

  return async (input) => {
    if (typeof input !== "string") return { ok: false, error: "token_malformed" };
    const token = cleanToken(input);
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
      decodeJwt(token); // the claims must be a JSON object
    } catch {
      return { ok: false, error: "token_malformed" };
    }

    const alg = String(header.alg ?? "");
    const kty = ASYMMETRIC[alg];
    if (alg.startsWith("HS")) return { ok: false, error: "signature_error" };
    if (!kty || typeof header.kid !== "string") return { ok: false, error: "signer_error" };
    const jwk = jwks.keys.find((k) => k.kty === kty && k.kid === header.kid);
    if (!jwk) return { ok: false, error: "signer_error", kid: header.kid };

    let payload: Uint8Array;
    try {
      payload = (await compactVerify(token, await keyFor(jwk, alg))).payload;
    } catch {
      return { ok: false, error: "signature_error" };
    }
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    return checkClaims(claims);
  };
}

/** Joken's exp/iat validation, then authorize_conn's required claims. */
export function checkClaims(claims: Record<string, unknown>, nowSeconds = currentTime()): TokenResult {
  if ("exp" in claims) {
    const exp = claims.exp;
    if (typeof exp !== "number" || !(exp > nowSeconds)) {
      if (typeof exp === "number" && Number.isInteger(exp)) {
        return {
          ok: false,
          error: "expired_token",
          message: `Token has expired ${nowSeconds - exp} seconds ago`,
        };
      }
      return { ok: false, error: "invalid_claims", claim: "exp" };
    }
  }
  if ("iat" in claims && typeof claims.iat !== "number") {
    return { ok: false, error: "invalid_claims", claim: "iat" };
  }
  if (!("role" in claims) || !("exp" in claims)) return { ok: false, error: "missing_claims" };
  const rounded: Record<string, unknown> = { ...claims, exp: Math.round(claims.exp as number) };
  if (typeof claims.iat === "number") rounded.iat = Math.round(claims.iat);
  return { ok: true, claims: rounded as Claims };
}

/** Joken.current_time(): whole seconds. */
export function currentTime(): number {
  return Math.floor(Date.now() / 1000);
}

/** ChannelsAuthorization.clean_token: URI-decoded, whitespace removed. */
function cleanToken(token: string): string {
  let decoded = token;
  try {
    decoded = decodeURIComponent(token);
  } catch { /* left as is */ }
  return decoded.replace(/\s/g, "");
}

/** How a failed check reads in a join error (`reason` of the phx_reply). */
export function joinErrorReason(e: TokenError): string {
  switch (e.error) {
    case "expired_token":
      return `InvalidJWTToken: ${e.message}`;
    case "missing_claims":
      return "InvalidJWTToken: Fields `role` and `exp` are required in JWT";
    case "token_malformed":
      return "MalformedJWT: The token provided is not a valid JWT";
    case "signature_error":
      return "JwtSignatureError: Failed to validate JWT signature";
    case "signer_error":
      return `JwtSignerError: ${signerMessage(e.kid)}`;
    case "invalid_claims":
      return "Unknown Error on Channel";
  }
}

/** How a failed check reads in the `system` message that closes a joined channel. */
export function shutdownMessage(e: TokenError): string {
  switch (e.error) {
    case "expired_token":
      return e.message;
    case "missing_claims":
      return "Fields `role` and `exp` are required in JWT";
    case "token_malformed":
      return "The token provided is not a valid JWT";
    case "signature_error":
      return ":signature_error";
    case "signer_error":
      return e.kid === undefined ? ":error_generating_signer" : signerMessage(e.kid);
    case "invalid_claims":
      return `[message: "Invalid token", claim: "${e.claim}"]`;
  }
}

/** The HTTP answer when a socket's API key fails Realtime's own check (UserSocket.handle_error). */
export function connectError(e: TokenError): string {
  switch (e.error) {
    case "expired_token":
      return "Token has expired";
    case "missing_claims":
      return "Fields `role` and `exp` are required in JWT";
    case "token_malformed":
      return "The token provided is not a valid JWT";
    case "signature_error":
      return "Failed to validate JWT signature";
    case "signer_error":
      return signerMessage(e.kid);
    case "invalid_claims":
      return "Error connecting to Realtime";
  }
}

function signerMessage(kid: string | undefined): string {
  const which = kid === undefined ? "" : ` for key ID (kid) ${JSON.stringify(kid)}`;
  return `Failed to generate JWT signer${which}, check your JWT secret or JWKS configuration`;
}
