// POST /token (internal/api/token.go, token_refresh.go): the password, refresh_token and pkce
// (pkce.ts) grants. Other grants (id_token, web3) need flows this stand-in does not offer and are
// answered as GoTrue answers an unknown grant type.

import type { AuthContext } from "./context.ts";
import { badRequest, unprocessable } from "./errors.ts";
import { clientInfo, json, readJsonBody } from "./http.ts";
import { verifyPassword } from "./passwords.ts";
import { pkceGrant } from "./pkce.ts";
import { passwordGrantBody, refreshGrantBody } from "./schemas.ts";
import { isWellFormedRefreshToken, refreshGrant, startSession } from "./sessions.ts";
import { sessionResponse } from "./tokens.ts";
import { findIdentities, findUserByEmail, findUserById } from "./users.ts";

const INVALID_LOGIN = "Invalid login credentials";

export async function token(ctx: AuthContext, req: Request, url: URL): Promise<Response> {
  switch (url.searchParams.get("grant_type")) {
    case "password":
      return await passwordGrant(ctx, req);
    case "refresh_token":
      return await refreshTokenGrant(ctx, req);
    case "pkce":
      return await pkceGrant(ctx, req);
    default:
      // Sic: GoTrue answers an unsupported grant with this code and message.
      throw badRequest("invalid_credentials", "unsupported_grant_type");
  }
}

async function passwordGrant(ctx: AuthContext, req: Request): Promise<Response> {
  const body = await readJsonBody(req, passwordGrantBody);
  if (body.email !== "" && body.phone !== "") {
    throw badRequest(
      "validation_failed",
      "Only an email address or phone number should be provided on login.",
    );
  }
  if (body.email === "") {
    if (body.phone !== "") throw unprocessable("phone_provider_disabled", "Phone logins are disabled");
    throw badRequest("validation_failed", "missing email or phone");
  }

  const user = await findUserByEmail(ctx.sql, body.email.toLowerCase());
  if (!user || !user.encrypted_password) throw badRequest("invalid_credentials", INVALID_LOGIN);
  if (user.banned) throw badRequest("user_banned", "User is banned");
  if (!(await verifyPassword(body.password, user.encrypted_password))) {
    throw badRequest("invalid_credentials", INVALID_LOGIN);
  }
  if (!user.email_confirmed_at) throw badRequest("email_not_confirmed", "Email not confirmed");

  const grant = await ctx.sql.begin((tx) => startSession(tx, user.id, clientInfo(req)));
  // Re-read: the answer carries the last_sign_in_at just written.
  const fresh = await findUserById(ctx.sql, user.id) ?? user;
  return json(await sessionResponse(ctx, fresh, await findIdentities(ctx.sql, user.id), grant));
}

async function refreshTokenGrant(ctx: AuthContext, req: Request): Promise<Response> {
  const body = await readJsonBody(req, refreshGrantBody);
  if (!isWellFormedRefreshToken(body.refresh_token)) {
    throw badRequest("validation_failed", "Refresh token is not valid");
  }
  const { user, grant } = await refreshGrant(
    ctx.sql,
    body.refresh_token,
    clientInfo(req),
    ctx.refreshTokenReuseIntervalSeconds,
  );
  return json(await sessionResponse(ctx, user, await findIdentities(ctx.sql, user.id), grant));
}
