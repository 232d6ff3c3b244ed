// PKCE for email links (internal/api/pkce.go, models/flow_state.go, token.go PKCE): a sign-up
// whose client sent a code challenge gets a flow state; following its link issues the flow
// state's auth code (`?code=` on the redirect), which the client exchanges, with its code
// verifier, at POST /token?grant_type=pkce within five minutes of the sign-up.

import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthContext } from "./context.ts";
import { AuthError, badRequest, unprocessable } from "./errors.ts";
import { clientInfo, json, readJsonBody } from "./http.ts";
import { pkceGrantBody } from "./schemas.ts";
import { type AuthenticationMethod, startSession } from "./sessions.ts";
import { sessionResponse } from "./tokens.ts";
import { type Db, findIdentities, findUserById } from "./users.ts";

/** GoTrue's defaultFlowStateExpiryDuration. */
const FLOW_STATE_EXPIRY_SECONDS = 300;

/** GoTrue's validatePKCEParams: both or neither, and a challenge of 43 to 128 characters from
 * RFC 7636's alphabet. */
export function validatePkceParams(method: string, challenge: string): void {
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

/** models.ParseCodeChallengeMethod; GoTrue fails the request with an internal error otherwise. */
function codeChallengeMethod(method: string): "s256" | "plain" {
  const m = method.toLowerCase();
  if (m === "s256" || m === "plain") return m;
  throw new Error(`unsupported code_challenge method ${JSON.stringify(method)}`);
}

/** generateFlowState for an email sign-up: a new auth code, bound to the user and the challenge. */
export async function createFlowState(
  tx: Db,
  userId: string,
  providerType: string,
  method: string,
  challenge: string,
): Promise<void> {
  await tx`
    insert into auth.flow_state (id, user_id, auth_code, code_challenge_method, code_challenge, provider_type,
                                 authentication_method, created_at, updated_at)
    values (${crypto.randomUUID()}, ${userId}, ${crypto.randomUUID()}, ${codeChallengeMethod(method)},
            ${challenge}, ${providerType}, 'email/signup', now(), now())`;
}

/** issueAuthCode: the user's latest flow state of this method must be a PKCE one. */
export async function issueAuthCode(tx: Db, userId: string, method: string): Promise<string> {
  const [flow] = await tx<{ id: string; auth_code: string | null; code_challenge: string | null }[]>`
    select id, auth_code, code_challenge from auth.flow_state
    where user_id = ${userId} and authentication_method = ${method}
    order by created_at desc limit 1`;
  if (!flow) throw unprocessable("flow_state_not_found", "No valid flow state found for user.");
  if (!flow.code_challenge) {
    throw unprocessable("flow_state_not_found", "Flow state does not have an auth code (not a PKCE flow).");
  }
  await tx`update auth.flow_state set auth_code_issued_at = now(), updated_at = now() where id = ${flow.id}`;
  return flow.auth_code ?? "";
}

/** security.VerifyPKCEChallenge. */
function verifyChallenge(challenge: string, method: string, verifier: string): string | null {
  const same = (a: string, b: string) => {
    const x = new TextEncoder().encode(a);
    const y = new TextEncoder().encode(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  switch (method.toLowerCase()) {
    case "s256": {
      const hashed = createHash("sha256").update(verifier).digest("base64url");
      return same(challenge, hashed) ? null : "code challenge does not match previously saved code verifier";
    }
    case "plain":
      return same(challenge, verifier)
        ? null
        : "code challenge does not match previously saved code verifier";
    default:
      return "code challenge method not supported";
  }
}

interface FlowRow {
  id: string;
  user_id: string | null;
  code_challenge: string | null;
  code_challenge_method: string | null;
  authentication_method: string;
  expired: boolean;
}

/** POST /token?grant_type=pkce: the auth code and its verifier for a session. */
export async function pkceGrant(ctx: AuthContext, req: Request): Promise<Response> {
  const body = await readJsonBody(req, pkceGrantBody);
  if (body.auth_code === "" || body.code_verifier === "") {
    throw badRequest(
      "validation_failed",
      "invalid request: both auth code and code verifier should be non-empty",
    );
  }
  const [flow] = await ctx.sql<FlowRow[]>`
    select id, user_id, code_challenge, code_challenge_method::text, authentication_method,
           case when auth_code_issued_at is not null and authentication_method = 'magiclink'
                then now() > auth_code_issued_at + make_interval(secs => ${FLOW_STATE_EXPIRY_SECONDS})
                else now() > created_at + make_interval(secs => ${FLOW_STATE_EXPIRY_SECONDS}) end as expired
    from auth.flow_state where auth_code = ${body.auth_code} limit 1`;
  if (!flow || flow.user_id === null) {
    throw new AuthError(404, "flow_state_not_found", "invalid flow state, no valid flow state found");
  }
  if (flow.expired) throw unprocessable("flow_state_expired", "invalid flow state, flow state has expired");
  const user = await findUserById(ctx.sql, flow.user_id);
  if (!user) throw new AuthError(404, "user_not_found", "User not found");
  const mismatch = flow.code_challenge
    ? verifyChallenge(flow.code_challenge, flow.code_challenge_method ?? "", body.code_verifier)
    : "PKCE verification not applicable for implicit flow";
  if (mismatch) throw badRequest("bad_code_verifier", mismatch);

  const grant = await ctx.sql.begin(async (tx) => {
    const deleted = await tx`delete from auth.flow_state where id = ${flow.id}`;
    // Exchanged meanwhile by a concurrent request: as if it never existed.
    if (deleted.count === 0) {
      throw new AuthError(404, "flow_state_not_found", "invalid flow state, no valid flow state found");
    }
    return await startSession(
      tx,
      user.id,
      clientInfo(req),
      flow.authentication_method as AuthenticationMethod,
    );
  });
  const fresh = await findUserById(ctx.sql, user.id) ?? user;
  return json(await sessionResponse(ctx, fresh, await findIdentities(ctx.sql, user.id), grant));
}
