// The local project's signing key and API keys. One ES256 key pair per state directory, kept
// across restarts so sessions and the anon/service-role keys stay valid. The anon and
// service-role keys are JWTs signed with it, carrying only `role`, as Supabase's legacy keys do.

import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { join } from "node:path";
import { existsSync } from "node:fs";

export interface ProjectKeys {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** `{"keys":[…]}` as served at /auth/v1/.well-known/jwks.json */
  jwks: { keys: JWK[] };
  anonKey: string;
  serviceRoleKey: string;
  sign(claims: Record<string, unknown>): Promise<string>;
}

const TEN_YEARS = 10 * 365 * 24 * 3600;

export async function loadProjectKeys(stateDir: string, issuer: string): Promise<ProjectKeys> {
  const file = join(stateDir, "signing-key.json");
  let privateJwk: JWK;
  if (existsSync(file)) {
    privateJwk = JSON.parse(await Deno.readTextFile(file));
  } else {
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateJwk = await exportJWK(pair.privateKey);
    privateJwk.kid = crypto.randomUUID();
    privateJwk.alg = "ES256";
    await Deno.mkdir(stateDir, { recursive: true });
    await Deno.writeTextFile(file, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  const kid = privateJwk.kid!;
  const privateKey = await importJWK(privateJwk, "ES256") as CryptoKey;
  const { d: _secret, ...publicJwk } = privateJwk;
  publicJwk.use = "sig";
  publicJwk.key_ops = ["verify"];

  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid, typ: "JWT" }).sign(privateKey);

  const apiKey = (role: string) => {
    const iat = Math.floor(new Date("2026-01-01T00:00:00Z").getTime() / 1000);
    return sign({ iss: issuer, ref: "local", role, iat, exp: iat + TEN_YEARS });
  };

  return {
    kid,
    privateKey,
    publicJwk,
    jwks: { keys: [publicJwk] },
    anonKey: await apiKey("anon"),
    serviceRoleKey: await apiKey("service_role"),
    sign,
  };
}
