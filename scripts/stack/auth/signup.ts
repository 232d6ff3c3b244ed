// POST /signup (internal/api/signup.go) for email users with autoconfirm on, as the project
// runs (supabase/config.toml: enable_confirmations = false): the user is created confirmed and
// signed in at once, and the answer is a session. The checks run in GoTrue's order, so the
// same bad request gets the same error.

import type { AuthContext } from "./context.ts";
import { validateEmail } from "./email.ts";
import { badRequest, unprocessable } from "./errors.ts";
import { clientInfo, json, readJsonBody } from "./http.ts";
import { checkPasswordStrength, hashPassword } from "./passwords.ts";
import { signupBody } from "./schemas.ts";
import { startSession } from "./sessions.ts";
import { sessionResponse } from "./tokens.ts";
import { findIdentities, findUserByEmail, findUserById, insertEmailUser } from "./users.ts";

const userExists = () => unprocessable("user_already_exists", "User already registered");

export async function signup(ctx: AuthContext, req: Request): Promise<Response> {
  const body = await readJsonBody(req, signupBody);

  if (body.email === "" && body.phone === "") {
    // GoTrue treats a signup without email and phone as an anonymous sign-in, which is off.
    throw unprocessable("anonymous_provider_disabled", "Anonymous sign-ins are disabled");
  }
  if (body.password === "") throw badRequest("validation_failed", "Signup requires a valid password");
  checkPasswordStrength(body.password, ctx.minPasswordLength);
  if (body.email !== "" && body.phone !== "") {
    throw badRequest(
      "validation_failed",
      "Only an email address or phone number should be provided on signup.",
    );
  }
  // PKCE only matters when a confirmation email is sent; with autoconfirm the session is
  // returned directly, so only the parameters' form is checked, as GoTrue does.
  validatePkceParams(body.code_challenge_method, body.code_challenge);
  if (body.email === "") throw badRequest("phone_provider_disabled", "Phone signups are disabled");
  const email = validateEmail(body.email);

  if (await findUserByEmail(ctx.sql, email)) throw userExists();

  // Hash outside the transaction (it is the slow part), as GoTrue does.
  const passwordHash = await hashPassword(body.password);
  const client = clientInfo(req);
  let created;
  try {
    created = await ctx.sql.begin(async (tx) => {
      const userId = await insertEmailUser(tx, { email, passwordHash, data: body.data ?? {} });
      const grant = await startSession(tx, userId, client);
      return { userId, grant };
    });
  } catch (e) {
    // Lost a race with a concurrent signup for the same address.
    if ((e as { code?: string }).code === "23505") throw userExists();
    throw e;
  }

  const user = await findUserById(ctx.sql, created.userId);
  if (!user) throw new Error("user vanished right after signup");
  const identities = await findIdentities(ctx.sql, user.id);
  return json(await sessionResponse(ctx, user, identities, created.grant));
}

/** GoTrue's validatePKCEParams: both or neither, and a challenge of 43 to 128 characters from
 * RFC 7636's alphabet. */
function validatePkceParams(method: string, challenge: string): void {
  if (method === "" && challenge === "") return;
  if ((method === "") !== (challenge === "")) {
    throw badRequest("validation_failed", "PKCE flow requires code_challenge_method and code_challenge");
  }
  if (challenge.length < 43 || challenge.length > 128) {
    throw badRequest("validation_failed", "code challenge has to be between 43 and 128 characters");
  }
  if (!/^[a-zA-Z._~0-9-]+$/.test(challenge)) {
    throw badRequest(
      "validation_failed",
      "code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes",
    );
  }
}
