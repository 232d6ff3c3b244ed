// Request bodies through zod: malformed JSON, the wrong content type or a body that fails the
// schema all become 400 invalid_request with details naming each field and why.

import type { z } from "zod";
import { ApiError } from "./errors.ts";

export async function readJson<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new ApiError("invalid_request", "Content-Type must be application/json");
  }
  let raw: unknown;
  try {
    raw = await req.json();
  } catch {
    throw new ApiError("invalid_request", "Body is not valid JSON");
  }
  return parse(schema, raw);
}

export function parse<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const details = result.error.issues.map((i) => ({
      field: i.path.join(".") || "(body)",
      message: i.message,
    }));
    throw new ApiError(
      "invalid_request",
      `Invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join("; ")}`,
      details,
    );
  }
  return result.data;
}
