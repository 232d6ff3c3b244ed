// Request/response plumbing shared by the handlers: JSON out, a size-limited JSON body in
// (validated with zod), the bearer token and the client's user agent and IP.

import type { z } from "zod";
import { isIP } from "node:net";
import { AuthError, badRequest } from "./errors.ts";

/** GoTrue limits request bodies to 1 MiB (limitRequestBody(1 << 20)). */
const MAX_BODY_BYTES = 1 << 20;

export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

/**
 * Reads the body as JSON and checks it against `schema`. GoTrue decodes bodies with Go's
 * encoding/json into typed structs, so both unparsable JSON and a field of the wrong type are
 * `400 bad_json` ("Could not parse request body as JSON: …"), while a JSON `null` body decodes
 * to empty parameters. Semantic checks (a missing email, a short password) happen later in the
 * handlers, with GoTrue's `validation_failed` and friends.
 */
export async function readJsonBody<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) {
    throw new AuthError(
      413,
      "request_entity_too_large",
      `Request body too large (max ${MAX_BODY_BYTES} bytes)`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw badRequest(
      "bad_json",
      `Could not parse request body as JSON: ${e instanceof Error ? e.message : e}`,
    );
  }
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "body";
    throw badRequest("bad_json", `Could not parse request body as JSON: ${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** GoTrue's bearerRegexp: `^(?:B|b)earer (\S+$)`. */
export function bearerToken(req: Request): string | null {
  const m = /^(?:B|b)earer (\S+)$/.exec(req.headers.get("Authorization") ?? "");
  return m ? m[1] : null;
}

export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

/** Stored on the session as GoTrue does; the IP comes from X-Forwarded-For when the gateway
 * sets it, and is dropped unless it is a literal address (the column is `inet`). */
export function clientInfo(req: Request): ClientInfo {
  const forwarded = req.headers.get("X-Forwarded-For")?.split(",")[0]?.trim() ?? "";
  return {
    userAgent: req.headers.get("User-Agent") || null,
    ip: isIP(forwarded) ? forwarded : null,
  };
}
