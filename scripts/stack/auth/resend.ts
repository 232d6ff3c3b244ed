// POST /resend (internal/api/resend.go): another confirmation email for an unconfirmed sign-up
// (supabase-js: auth.resend({type: "signup", email})). The answer is `{}` whether or not the
// address has an account, or is confirmed already (then nothing is sent). The new link replaces
// the old one. Phone types are refused as this project has no phone logins; email_change has
// nothing to resend, since email changes apply at once here (user.ts).

import type { AuthContext } from "./context.ts";
import { validateEmail } from "./email.ts";
import { badRequest } from "./errors.ts";
import { json, readJsonBody } from "./http.ts";
import { sendConfirmation } from "./mailer.ts";
import { createFlowState, validatePkceParams } from "./pkce.ts";
import { getReferrer } from "./redirect.ts";
import { resendBody } from "./schemas.ts";
import { findUserByEmail } from "./users.ts";

export async function resend(ctx: AuthContext, req: Request, url: URL): Promise<Response> {
  const body = await readJsonBody(req, resendBody);
  switch (body.type) {
    case "signup":
    case "email_change":
      validatePkceParams(body.code_challenge_method, body.code_challenge);
      break;
    case "sms":
    case "phone_change":
      break;
    default:
      throw badRequest(
        "validation_failed",
        "Missing one of these types: signup, email_change, sms, phone_change",
      );
  }
  if (body.email === "" && body.type === "signup") {
    throw badRequest("validation_failed", "Type provided requires an email address");
  }
  if (body.phone === "" && body.type === "sms") {
    throw badRequest("validation_failed", "Type provided requires a phone number");
  }
  if (body.email !== "" && body.phone !== "") {
    throw badRequest("validation_failed", "Only an email address or phone number should be provided.");
  }
  if (body.email === "") {
    if (body.phone !== "") throw badRequest("phone_provider_disabled", "Phone logins are disabled");
    throw badRequest("validation_failed", "Missing email address or phone number");
  }
  const email = validateEmail(body.email);

  const user = await findUserByEmail(ctx.sql, email);
  // Nothing to send: no such user, already confirmed, or no email change pending.
  if (!user || body.type !== "signup" || user.email_confirmed_at) return json({});

  const flow = body.code_challenge !== "" ? "pkce" : "implicit";
  const referrer = getReferrer(ctx.redirects, req, url);
  await ctx.sql.begin(async (tx) => {
    if (flow === "pkce") {
      await createFlowState(tx, user.id, "email/signup", body.code_challenge_method, body.code_challenge);
    }
    await sendConfirmation(ctx, tx, { id: user.id, email }, flow, referrer);
  });
  return json({});
}
