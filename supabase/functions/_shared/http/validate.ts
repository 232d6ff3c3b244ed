// Request bodies through zod: malformed JSON, the wrong content type or a body that fails the
// schema all become 400 invalid_request with details naming each field and why. So does a
// string holding U+0000: JSON may carry it, Postgres text cannot store it (it would fail the
// write with a 500).

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
  const body = parse(schema, raw);
  const field = nulCharacterAt(body);
  if (field !== undefined) {
    const message = "must not contain the NUL character (U+0000)";
    throw new ApiError("invalid_request", `Invalid request: ${field}: ${message}`, [{ field, message }]);
  }
  return body;
}

/**
 * The path of the first string (or object key) in a parsed body that contains U+0000, else
 * undefined. Iterative, so a deeply nested body cannot overflow the stack.
 */
export function nulCharacterAt(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, ""]];
  const join = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));
  while (pending.length) {
    const [item, path] = pending.pop()!;
    if (typeof item === "string") {
      if (item.includes("\0")) return path || "(body)";
    } else if (Array.isArray(item)) {
      item.forEach((child, i) => pending.push([child, join(path, i)]));
    } else if (item !== null && typeof item === "object") {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes("\0")) return join(path, key);
        pending.push([child, join(path, key)]);
      }
    }
  }
  return undefined;
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
