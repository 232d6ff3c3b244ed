// POST /signup (internal/api/signup.go) for email users. The checks run in GoTrue's order, so the
// same bad request gets the same error. Two modes, as [auth.email] enable_confirmations says:
// - autoconfirm (the project's config.toml): the user is created confirmed and signed in at once,
//   and the answer is a session; an address already registered is 422 `user_already_exists`;
// - confirmations (hosted projects' default): the user is created unconfirmed, a confirmation
//   email goes out (mailer.ts) and the answer is the user without a session. An address that is
//   already registered and confirmed gets an answer shaped like a new user's (sanitizeUser), so
//   the answer does not reveal it; one registered but unconfirmed gets a new email.

import type { AuthContext } from "./context.ts";
import { validateEmail } from "./email.ts";
import { AuthError, badRequest, unprocessable } from "./errors.ts";
import { clientInfo, json, readJsonBody } from "./http.ts";
import { type FlowType, sendConfirmation } from "./mailer.ts";
import { checkPasswordStrength, hashPassword } from "./passwords.ts";
import { createFlowState, validatePkceParams } from "./pkce.ts";
import { getReferrer } from "./redirect.ts";
import { signupBody } from "./schemas.ts";
import { startSession } from "./sessions.ts";
import { sessionResponse } from "./tokens.ts";
import { sanitizedUserJson, userJson, type UserRow } from "./user-json.ts";
import {
  AUDIENCE,
  confirmUser,
  findIdentities,
  findUserByEmail,
  findUserById,
  insertEmailUser,
} from "./users.ts";

const userExists = () => unprocessable("user_already_exists", "User already registered");

type SignupBody = ReturnType<typeof signupBody.parse>;

export async function signup(ctx: AuthContext, req: Request, url: URL): Promise<Response> {
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
  validatePkceParams(body.code_challenge_method, body.code_challenge);
  if (body.email === "") throw badRequest("phone_provider_disabled", "Phone signups are disabled");
  const email = validateEmail(body.email);
  const flow: FlowType = body.code_challenge !== "" ? "pkce" : "implicit";

  const existing = await findUserByEmail(ctx.sql, email);
  if (existing) return await signupExisting(ctx, req, url, body, existing, flow);

  // Hash outside the transaction (it is the slow part), as GoTrue does.
  const passwordHash = await hashPassword(body.password);
  const data = body.data ?? {};

  if (!ctx.confirmations) {
    let created;
    try {
      created = await ctx.sql.begin(async (tx) => {
        const userId = await insertEmailUser(tx, { email, passwordHash, data, confirmed: true });
        const grant = await startSession(tx, userId, clientInfo(req));
        return { userId, grant };
      });
    } catch (e) {
      // Lost a race with a concurrent signup for the same address.
      if ((e as { code?: string }).code === "23505") throw userExists();
      throw e;
    }
    return await answerWithSession(ctx, created.userId, created.grant);
  }

  const referrer = getReferrer(ctx.redirects, req, url);
  let userId: string;
  try {
    userId = await ctx.sql.begin(async (tx) => {
      const id = await insertEmailUser(tx, { email, passwordHash, data, confirmed: false });
      if (flow === "pkce") {
        await createFlowState(tx, id, "email", body.code_challenge_method, body.code_challenge);
      }
      await sendConfirmation(ctx, tx, { id, email }, flow, referrer);
      return id;
    });
  } catch (e) {
    if ((e as { code?: string }).code === "23505") {
      throw new AuthError(500, "unexpected_failure", "Database error saving new user");
    }
    throw e;
  }
  return await answerWithUser(ctx, userId);
}

/** A sign-up for an address that already has an account (GoTrue does not touch its password). */
async function signupExisting(
  ctx: AuthContext,
  req: Request,
  url: URL,
  body: SignupBody,
  user: UserRow,
  flow: FlowType,
): Promise<Response> {
  if (user.email_confirmed_at) {
    if (!ctx.confirmations) throw userExists();
    return json(sanitizedUserJson(user, AUDIENCE, body.data ?? {}));
  }
  if (!ctx.confirmations) {
    // Unconfirmed (signed up while confirmations were on) and now autoconfirm: GoTrue confirms
    // the account and signs in, as for a new user.
    const grant = await ctx.sql.begin(async (tx) => {
      await confirmUser(tx, user.id, { identities: false });
      return await startSession(tx, user.id, clientInfo(req));
    });
    return await answerWithSession(ctx, user.id, grant);
  }
  const referrer = getReferrer(ctx.redirects, req, url);
  await ctx.sql.begin(async (tx) => {
    if (flow === "pkce") {
      await createFlowState(tx, user.id, "email", body.code_challenge_method, body.code_challenge);
    }
    await sendConfirmation(ctx, tx, { id: user.id, email: user.email ?? "" }, flow, referrer);
  });
  return await answerWithUser(ctx, user.id);
}

async function answerWithSession(
  ctx: AuthContext,
  userId: string,
  grant: Awaited<ReturnType<typeof startSession>>,
): Promise<Response> {
  const user = await findUserById(ctx.sql, userId);
  if (!user) throw new Error("user vanished right after signup");
  const identities = await findIdentities(ctx.sql, user.id);
  return json(await sessionResponse(ctx, user, identities, grant));
}

async function answerWithUser(ctx: AuthContext, userId: string): Promise<Response> {
  const user = await findUserById(ctx.sql, userId);
  if (!user) throw new Error("user vanished right after signup");
  return json(userJson(user, await findIdentities(ctx.sql, user.id)));
}
