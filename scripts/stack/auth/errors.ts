// Errors as GoTrue reports them. A handler throws an AuthError; service.ts turns it into the
// response GoTrue would send for the request's API version (internal/api/errors.go):
// - `X-Supabase-Api-Version: 2024-01-01` or later (what supabase-js always sends): `{code, message}`
//   and the version header echoed back, which is what makes supabase-js read `code`
//   (lib/fetch.ts handleError checks the *response* header);
// - no or an older version: the legacy `{code: <status>, error_code, msg}` shape.
// Weak-password errors carry `weak_password: {reasons}` in both shapes.

export const API_VERSION_HEADER = "X-Supabase-Api-Version";
const API_VERSION_2024_01_01 = Date.UTC(2024, 0, 1);

export class AuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra top-level body fields (only `weak_password` in practice). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new AuthError(400, code, message);
export const unprocessable = (code: string, message: string) => new AuthError(422, code, message);
export const forbidden = (code: string, message: string) => new AuthError(403, code, message);

/** GoTrue's WeakPasswordError: 422 `weak_password` with the reasons the password failed. */
export const weakPassword = (message: string, reasons: string[]) =>
  new AuthError(422, "weak_password", message, { weak_password: { reasons } });

/** For a refresh-token reuse that must be answered with an error *after* its transaction
 * committed (GoTrue's storage.NewCommitWithError): the revocation has to stick. */
export class CommitThenFail {
  constructor(readonly error: AuthError) {}
}

/** True when the request asked for the 2024-01-01 (or a later) error shape. */
function wantsVersion20240101(req: Request): boolean {
  const raw = req.headers.get(API_VERSION_HEADER);
  if (!raw || !/^\d{4}-\d{2}-\d{2}$/.test(raw)) return false; // unparsable → initial version
  const t = Date.parse(`${raw}T00:00:00Z`);
  return Number.isFinite(t) && t >= API_VERSION_2024_01_01;
}

export function errorResponse(err: AuthError, req: Request): Response {
  const headers = new Headers({ "Content-Type": "application/json" });
  let body: Record<string, unknown>;
  if (wantsVersion20240101(req)) {
    headers.set(API_VERSION_HEADER, "2024-01-01");
    body = { code: err.code, message: err.message, ...err.extra };
    // GoTrue sets x-sb-error-code for every coded HTTP error, except on the new-style
    // weak-password path.
    if (err.code !== "weak_password") headers.set("x-sb-error-code", err.code);
  } else {
    body = { code: err.status, error_code: err.code, msg: err.message, ...err.extra };
    headers.set("x-sb-error-code", err.code);
  }
  return new Response(JSON.stringify(body), { status: err.status, headers });
}

/** What GoTrue answers for an error it did not anticipate (handleResponseErrorDefault). */
export function unexpectedFailure(): AuthError {
  return new AuthError(
    500,
    "unexpected_failure",
    "Unexpected failure, please check server logs for more information",
  );
}
