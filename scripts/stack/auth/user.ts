// GET and PUT /user (internal/api/user.go).
//
// One deliberate difference: GoTrue confirms an email change by mail (a link to the new and,
// with secure email change, the old address). The local stack has no mail server, so the
// change is applied at once, as if both links had been followed; the answer then shows the new
// email rather than `new_email`.

import { authenticate } from "./authenticate.ts";
import type { AuthContext } from "./context.ts";
import { validateEmail } from "./email.ts";
import { AuthError, badRequest, forbidden, unprocessable } from "./errors.ts";
import { json, readJsonBody } from "./http.ts";
import { checkPasswordStrength, hashPassword, verifyPassword } from "./passwords.ts";
import { userUpdateBody } from "./schemas.ts";
import { logout } from "./sessions.ts";
import { userJson } from "./user-json.ts";
import {
  AUDIENCE,
  emailTaken,
  findIdentities,
  findUserById,
  mergeUserMetadata,
  setEmail,
  setPasswordHash,
} from "./users.ts";

export async function getUser(ctx: AuthContext, req: Request): Promise<Response> {
  const { user, claims } = await authenticate(ctx.sql, ctx.verify, req);
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  if (aud !== AUDIENCE) {
    throw badRequest("validation_failed", "Token audience doesn't match request audience");
  }
  return json(userJson(user, await findIdentities(ctx.sql, user.id)));
}

export async function updateUser(ctx: AuthContext, req: Request): Promise<Response> {
  const { user, session } = await authenticate(ctx.sql, ctx.verify, req);
  const body = await readJsonBody(req, userUpdateBody);

  const email = body.email !== "" ? validateEmail(body.email) : "";
  if (body.phone !== "") {
    throw unprocessable("phone_provider_disabled", "Phone logins are disabled");
  }
  if (body.password !== undefined) checkPasswordStrength(body.password, ctx.minPasswordLength);
  if (body.app_metadata !== undefined) {
    throw forbidden("not_admin", "Updating app_metadata requires admin privileges");
  }
  if (email !== "" && email !== user.email && await emailTaken(ctx.sql, email, user.id)) {
    throw unprocessable("email_exists", "A user with this email address has already been registered");
  }

  let passwordHash: string | null = null;
  if (body.password !== undefined && body.password !== "") {
    if (await verifyPassword(body.password, user.encrypted_password)) {
      throw unprocessable("same_password", "New password should be different from the old password.");
    }
    passwordHash = await hashPassword(body.password); // outside the transaction: it is slow
  }

  try {
    await ctx.sql.begin(async (tx) => {
      if (passwordHash !== null) {
        // A new password signs the user out everywhere else, as GoTrue's UpdatePassword.
        // Sessions before the users row: the lock order of a refresh (session, then user), so
        // a concurrent refresh cannot deadlock with this.
        await logout(tx, user.id, session?.id ?? null, session ? "others" : "global");
        await setPasswordHash(tx, user.id, passwordHash);
      }
      if (body.data !== undefined) await mergeUserMetadata(tx, user.id, body.data);
      if (email !== "" && email !== user.email) await setEmail(tx, user.id, email);
    });
  } catch (e) {
    if ((e as { code?: string }).code === "23505") {
      throw unprocessable("email_exists", "A user with this email address has already been registered");
    }
    throw e;
  }

  const updated = await findUserById(ctx.sql, user.id);
  if (!updated) throw new AuthError(404, "user_not_found", "User not found");
  return json(userJson(updated, await findIdentities(ctx.sql, user.id)));
}
