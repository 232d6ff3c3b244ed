// The Idempotency-Key request header (IETF draft-ietf-httpapi-idempotency-key-header): a
// client-chosen key that makes a retried POST safe. Validated here; enforced in admission.

import { ApiError } from "./errors.ts";

export function idempotencyKey(req: Request): string | undefined {
  const key = req.headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new ApiError("invalid_request", "Idempotency-Key must be 1 to 255 visible ASCII characters", {
      field: "Idempotency-Key",
    });
  }
  return key;
}
