// GoTrue's sendConfirmation (internal/api/mail.go) and its mail (internal/mailer): a one-time
// code, stored as the SHA-224 of email + code (prefixed `pkce_` when the client uses PKCE) in
// auth.users.confirmation_token and auth.one_time_tokens, and a link to GET /verify carrying that
// hash — the email goes to the local mailbox instead of an SMTP server. At most one email per
// user per [auth.email] max_frequency.

import { createHash } from "node:crypto";
import type { AuthContext } from "./context.ts";
import { AuthError } from "./errors.ts";
import { goQueryEscape } from "./go-url.ts";
import type { Db } from "./users.ts";

export type FlowType = "implicit" | "pkce";

/** GoTrue's default confirmation template (templatemailer.go) and subject. */
const SUBJECT = "Confirm your email address";
const template = (confirmationUrl: string) =>
  `<h2>Confirm your email address</h2>

<p>Follow the link below to confirm this email address and finish signing up.</p>
<p><a href="${escapeHtml(confirmationUrl)}">Confirm email address</a></p>
`;

/** What Go's html escaping (html/template's href, net/http's redirect body) does to a URL. */
export function escapeHtml(s: string): string {
  const entities: Record<string, string> = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&#34;",
    "'": "&#39;",
  };
  return s.replace(/[&<>"']/g, (c) => entities[c]);
}

/** crypto.GenerateOtp: `digits` decimal digits, uniformly random. */
function generateOtp(digits = 6): string {
  const max = 10 ** digits;
  const limit = Math.floor(0x1_0000_0000 / max) * max; // reject the biased tail
  const buf = new Uint32Array(1);
  do crypto.getRandomValues(buf); while (buf[0] >= limit);
  return String(buf[0] % max).padStart(digits, "0");
}

/** crypto.GenerateTokenHash: hex SHA-224 of email (or phone) + code. */
export function tokenHash(emailOrPhone: string, otp: string): string {
  return createHash("sha224").update(emailOrPhone + otp).digest("hex");
}

/** mailer's encodeRedirectURL: a redirect with `&`, `=` or `#` was not encoded by the caller. */
function encodeRedirectUrl(referrer: string): string {
  return /[&=#]/.test(referrer) ? goQueryEscape(referrer) : referrer;
}

export interface Recipient {
  id: string;
  email: string;
}

/**
 * Sends (to the mailbox) a confirmation link for `user`, inside the caller's transaction;
 * throws 429 `over_email_send_rate_limit` when the previous one is younger than max_frequency.
 */
export async function sendConfirmation(
  ctx: AuthContext,
  tx: Db,
  user: Recipient,
  flow: FlowType,
  referrer: string,
): Promise<void> {
  const [limit] = await tx<{ remaining: string | null }[]>`
    select extract(epoch from confirmation_sent_at + make_interval(secs => ${ctx.maxFrequencySeconds}) - now())::text
      as remaining
    from auth.users where id = ${user.id} for no key update`;
  const remaining = Number(limit?.remaining ?? 0);
  if (remaining > 0) {
    throw new AuthError(
      429,
      "over_email_send_rate_limit",
      // Go truncates the remaining duration to whole seconds.
      `For security purposes, you can only request this after ${Math.trunc(remaining)} seconds.`,
    );
  }

  const otp = generateOtp();
  const hash = tokenHash(user.email, otp);
  const token = flow === "pkce" ? `pkce_${hash}` : hash;
  // The CLI points GoTrue's confirmation URL path at <API URL>/auth/v1/verify.
  const verifyUrl = new URL("verify", `${ctx.issuer.replace(/\/+$/, "")}/`).toString();
  const link = `${verifyUrl}?token=${goQueryEscape(token)}&type=signup&redirect_to=${
    encodeRedirectUrl(referrer)
  }`;
  ctx.mailbox.deliver({
    to: user.email,
    subject: SUBJECT,
    type: "signup",
    actionLink: link,
    html: template(link),
  });

  await tx`
    update auth.users set confirmation_token = ${token}, confirmation_sent_at = now(), updated_at = now()
    where id = ${user.id}`;
  // models.CreateOneTimeToken: one token per user and type.
  await tx`delete from auth.one_time_tokens where user_id = ${user.id} and token_type = 'confirmation_token'`;
  await tx`
    insert into auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to, created_at, updated_at)
    values (${crypto.randomUUID()}, ${user.id}, 'confirmation_token', ${token}, ${user.email.toLowerCase()}, now(), now())`;
}
