// GET /verify?token=…&type=signup&redirect_to=… (internal/api/verify.go verifyGet): the link of a
// confirmation email. It confirms the user and redirects (303) to redirect_to — if GoTrue allows
// it (redirect.ts), else to the site URL — with a session:
// - implicit flow: in the fragment, `#access_token=…&expires_at=…&expires_in=…&refresh_token=…
//   &sb=&token_type=bearer&type=signup` (supabase-js's detectSessionInUrl reads it);
// - PKCE (the token starts with `pkce_`): an auth code in the query, `?code=…`, for the client to
//   exchange with its code verifier (POST /token?grant_type=pkce).
// A link that is unknown, used or expired redirects with GoTrue's error in the fragment (and, for
// PKCE, the query too): `#error=access_denied&error_code=otp_expired&error_description=…&sb=`.
// Only the links this stand-in sends (signup) can be valid; the other email types (recovery,
// magiclink, email_change) have no tokens here, so theirs fail as unknown ones do in GoTrue.

import type { AuthContext } from "./context.ts";
import { AuthError, badRequest, forbidden } from "./errors.ts";
import {
  goEncode,
  goEscapeFragment,
  goFormat,
  goParseQuery,
  goParseUrl,
  goSet,
  hexEscapeNonAscii,
} from "./go-url.ts";
import { clientInfo } from "./http.ts";
import { escapeHtml, type FlowType } from "./mailer.ts";
import { issueAuthCode } from "./pkce.ts";
import { getReferrer } from "./redirect.ts";
import { type Grant, startSession } from "./sessions.ts";
import { mintAccessToken } from "./tokens.ts";
import { confirmUser, type Db, findUserById } from "./users.ts";
import type { UserRow } from "./user-json.ts";

/** oauthErrorMap: the OAuth error name of an HTTP status. */
const OAUTH_ERRORS: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized_client",
  403: "access_denied",
  500: "server_error",
  503: "temporarily_unavailable",
};

const linkInvalid = () => forbidden("otp_expired", "Email link is invalid or has expired");

const AUTHENTICATION_METHODS = new Set([
  "oauth",
  "password",
  "otp",
  "totp",
  "recovery",
  "invite",
  "sso/saml",
  "magiclink",
  "email/signup",
  "email_change",
  "token_refresh",
  "anonymous",
]);

/** models.ParseAuthenticationMethod (an unknown one fails the request with an internal error). */
function parseAuthenticationMethod(type: string): string {
  if (type.endsWith("signup")) return "email/signup";
  if (AUTHENTICATION_METHODS.has(type)) return type;
  throw new Error(`unsupported authentication method ${JSON.stringify(type)}`);
}

type Outcome = { flow: "implicit"; userId: string; grant: Grant } | { flow: "pkce"; code: string };

export async function verify(ctx: AuthContext, req: Request, url: URL): Promise<Response> {
  const token = url.searchParams.get("token") ?? "";
  let type = url.searchParams.get("type") ?? "";
  const redirectTo = getReferrer(ctx.redirects, req, url);
  if (type === "") throw badRequest("validation_failed", "Verify requires a verification type");
  if (token === "") throw badRequest("validation_failed", "Verify requires a token or a token hash");

  const flow: FlowType = token.startsWith("pkce_") ? "pkce" : "implicit";
  const method = flow === "pkce" ? parseAuthenticationMethod(type) : null;

  let outcome: Outcome;
  try {
    outcome = await ctx.sql.begin(async (tx): Promise<Outcome> => {
      const found = await verifyTokenHash(ctx, tx, type, token);
      type = found.type;
      if (type !== "signup" && type !== "invite") {
        throw badRequest("validation_failed", "Unsupported verification type");
      }
      // signupVerify (no invitations here, so every user has a password already).
      await confirmUser(tx, found.user.id, { identities: true });
      if (flow === "implicit") {
        return {
          flow,
          userId: found.user.id,
          grant: await startSession(tx, found.user.id, clientInfo(req), "otp"),
        };
      }
      try {
        return { flow, code: await issueAuthCode(tx, found.user.id, method ?? "") };
      } catch (e) {
        if (!(e instanceof AuthError)) throw e;
        throw badRequest("flow_state_not_found", `No associated flow state found. ${e.status}: ${e.message}`);
      }
    });
  } catch (e) {
    if (e instanceof AuthError) {
      const to = errorRedirectUrl(e, redirectTo, flow);
      if (to === null) throw e;
      return seeOther(to);
    }
    throw e;
  }

  if (outcome.flow === "pkce") {
    const u = goParseUrl(redirectTo);
    if (!u) throw new Error(`unparsable redirect ${redirectTo}`);
    return seeOther(
      goFormat(u, goEncode(goSet(goParseQuery(u.rawQuery), "code", outcome.code)), u.rawFragment),
    );
  }
  const user = await findUserById(ctx.sql, outcome.userId);
  if (!user) throw new Error("user vanished right after verifying");
  return seeOther(`${redirectTo}#${await tokenFragment(ctx, user, outcome.grant, type)}`);
}

/** verifyTokenHash: the user whose one-time token this is, unexpired and not banned. */
async function verifyTokenHash(
  ctx: AuthContext,
  tx: Db,
  type: string,
  tokenHash: string,
): Promise<{ user: UserRow; type: string }> {
  let tokenTypes: string[];
  switch (type) {
    case "email": // either kind; a confirmation token makes it a signup
      tokenTypes = ["confirmation_token", "recovery_token"];
      break;
    case "signup":
    case "invite":
      tokenTypes = ["confirmation_token"];
      break;
    case "recovery":
    case "magiclink":
      tokenTypes = ["recovery_token"];
      break;
    case "email_change":
      tokenTypes = ["email_change_token_current", "email_change_token_new"];
      break;
    default:
      throw badRequest("validation_failed", "Invalid email verification type");
  }
  const [ott] = await tx<{ user_id: string; token_type: string }[]>`
    select user_id, token_type::text from auth.one_time_tokens
    where token_type::text in ${tx(tokenTypes)} and token_hash = ${tokenHash}
    limit 1
    for update`; // a second click at the same instant waits, then finds the token used
  const user = ott ? await findUserById(tx, ott.user_id) : null;
  if (!user) throw linkInvalid();
  if (user.banned) throw forbidden("user_banned", "User is banned");
  // Only confirmation tokens are ever issued here, so an `email` link is a signup one.
  const effectiveType = type === "email" ? "signup" : type;
  const [{ expired }] = await tx<{ expired: boolean }[]>`
    select coalesce(now() > confirmation_sent_at + make_interval(secs => ${ctx.otpExpirySeconds}), true) as expired
    from auth.users where id = ${user.id}`;
  if (expired) throw linkInvalid();
  return { user, type: effectiveType };
}

/** AccessTokenResponse.AsRedirectURL's fragment (url.Values.Encode: sorted by key). */
async function tokenFragment(ctx: AuthContext, user: UserRow, grant: Grant, type: string): Promise<string> {
  const { token, expiresAt } = await mintAccessToken(ctx, user, grant.session);
  const values = new Map<string, string[]>([
    ["type", [type]],
    ["access_token", [token]],
    ["token_type", ["bearer"]],
    ["expires_in", [String(expiresAt - Math.floor(Date.now() / 1000))]],
    ["expires_at", [String(expiresAt)]],
    ["refresh_token", [grant.refreshToken]],
    ["sb", [""]],
  ]);
  return goEncode(values);
}

/** prepErrorRedirectURL: the error in the fragment (and, for PKCE, in the query as well). */
function errorRedirectUrl(err: AuthError, redirectTo: string, flow: FlowType): string | null {
  const u = goParseUrl(redirectTo);
  if (!u) return null;
  const query = goParseQuery(u.rawQuery);
  const fragment = new Map<string, string[]>();
  const oauth = OAUTH_ERRORS[err.status];
  if (oauth) {
    goSet(fragment, "error", oauth);
    goSet(query, "error", oauth);
  }
  goSet(fragment, "error_code", err.code);
  goSet(fragment, "error_description", err.message);
  goSet(query, "error_code", err.code);
  goSet(query, "error_description", err.message);
  goSet(fragment, "sb", "");
  const rawQuery = flow === "pkce" ? goEncode(query) : u.rawQuery;
  return goFormat(u, rawQuery, goEscapeFragment(goEncode(fragment)));
}

/** net/http's Redirect with 303 See Other, body and all. */
function seeOther(location: string): Response {
  const href = hexEscapeNonAscii(location);
  return new Response(`<a href="${escapeHtml(href)}">See Other</a>.\n\n`, {
    status: 303,
    headers: { Location: href, "Content-Type": "text/html; charset=utf-8" },
  });
}
