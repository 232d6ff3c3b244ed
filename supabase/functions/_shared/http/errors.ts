// The API's error contract (DESIGN.md §4): {"error":{"code","message","details"?}} with a fixed
// status per code. Handlers throw ApiError; the app's error handler renders it.

export const ERROR_STATUS = {
  invalid_request: 400,
  unknown_model: 400,
  unauthorized: 401,
  quota_exceeded: 402,
  model_not_allowed: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  provider_error: 502,
  provider_unavailable: 503,
  provider_timeout: 504,
  /** Our own dependency (the database) is briefly unreachable; Retry-After says when to retry. */
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toJSON() {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export function errorResponse(
  error: ApiError,
  headers?: HeadersInit,
  body: unknown = error.toJSON(),
): Response {
  const res = Response.json(body, { status: error.status, headers });
  for (const [k, v] of Object.entries(error.headers)) res.headers.set(k, v);
  return res;
}
