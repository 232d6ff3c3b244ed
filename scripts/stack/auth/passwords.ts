// Password hashing and GoTrue's password policy (internal/api/password.go).

import bcrypt from "bcryptjs";
import { badRequest, weakPassword } from "./errors.ts";

/** bcrypt reads at most 72 bytes; GoTrue refuses longer passwords rather than truncate them. */
export const MAX_PASSWORD_BYTES = 72;
const COST = 10; // Go's bcrypt.DefaultCost, what GoTrue uses

const byteLength = (s: string) => new TextEncoder().encode(s).byteLength;

/** GoTrue's checkPasswordStrength with the default policy (a minimum length, no required
 * character classes, no HaveIBeenPwned check). */
export function checkPasswordStrength(password: string, minLength: number): void {
  if (byteLength(password) > MAX_PASSWORD_BYTES) {
    throw badRequest("validation_failed", `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`);
  }
  // Go's len() counts bytes, so the minimum is in bytes too.
  if (byteLength(password) < minLength) {
    throw weakPassword(`Password should be at least ${minLength} characters.`, ["length"]);
  }
}

/** A `$2a$` hash like Go's bcrypt writes, so a real GoTrue (or pgcrypto's crypt()) can read it. */
export async function hashPassword(password: string): Promise<string> {
  const salt = (await bcrypt.genSalt(COST)).replace(/^\$2b\$/, "$2a$");
  return await bcrypt.hash(password, salt);
}

export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (!hash || byteLength(password) > MAX_PASSWORD_BYTES) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false; // not a bcrypt hash (e.g. a row written by hand): no password matches it
  }
}
