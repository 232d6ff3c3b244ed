// Access tokens and the session response (GoTrue's AccessTokenClaims and AccessTokenResponse).
// Claims are Supabase's, in GoTrue's order: iss, sub, aud (a single string), exp, iat, email,
// phone, app_metadata, user_metadata, role, aal, amr, session_id, is_anonymous.

import type { ProjectKeys } from "../keys.ts";
import type { Grant } from "./sessions.ts";
import { type IdentityRow, userJson, type UserRow } from "./user-json.ts";

export interface TokenSettings {
  issuer: string;
  keys: ProjectKeys;
  jwtExpirySeconds: number;
}

export async function mintAccessToken(
  settings: TokenSettings,
  user: UserRow,
  session: Grant["session"],
): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + settings.jwtExpirySeconds;
  const token = await settings.keys.sign({
    iss: settings.issuer,
    sub: user.id,
    aud: user.aud ?? "",
    exp,
    iat,
    email: user.email ?? "",
    phone: user.phone ?? "",
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    role: user.role ?? "",
    aal: "aal1",
    amr: session.amr,
    session_id: session.id,
    is_anonymous: user.is_anonymous,
  });
  return { token, expiresAt: exp };
}

/** `{access_token, token_type, expires_in, expires_at, refresh_token, user}`. */
export async function sessionResponse(
  settings: TokenSettings,
  user: UserRow,
  identities: IdentityRow[],
  grant: Grant,
): Promise<Record<string, unknown>> {
  const { token, expiresAt } = await mintAccessToken(settings, user, grant.session);
  return {
    access_token: token,
    token_type: "bearer",
    expires_in: expiresAt - Math.floor(Date.now() / 1000),
    expires_at: expiresAt,
    refresh_token: grant.refreshToken,
    user: userJson(user, identities),
  };
}
