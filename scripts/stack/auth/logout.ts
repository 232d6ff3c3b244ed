// POST /logout?scope=global|local|others (internal/api/logout.go): 204, and the sessions in
// scope are deleted, so their refresh tokens stop working and their access tokens fail
// `GET /user` with `session_not_found`.

import { authenticate } from "./authenticate.ts";
import type { AuthContext } from "./context.ts";
import { badRequest } from "./errors.ts";
import { logout as endSessions, type LogoutScope } from "./sessions.ts";

export async function logout(ctx: AuthContext, req: Request, url: URL): Promise<Response> {
  const { user, session } = await authenticate(ctx.sql, ctx.verify, req);
  const raw = url.searchParams.get("scope") ?? "";
  let scope: LogoutScope;
  switch (raw) {
    case "":
    case "global":
      scope = "global";
      break;
    case "local":
    case "others":
      scope = raw;
      break;
    default:
      throw badRequest("validation_failed", `Unsupported logout scope ${JSON.stringify(raw)}`);
  }
  await endSessions(ctx.sql, user.id, session?.id ?? null, scope);
  return new Response(null, { status: 204 });
}
