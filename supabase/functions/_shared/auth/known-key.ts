// A platform key is checked for real at admission, in the same round trip as the rest of it. But
// the work before admission (reading up to 1 MB, validating it, counting its tokens) would then be
// free for anyone who sends "nx_" and garbage. So a key this instance has not seen valid lately
// is resolved first, alongside reading the body, and an unknown key is a 401 before that work.
// A key seen valid within the last minute skips the trip; admission stays the authority (a key
// revoked a moment ago is still refused there).

import { db } from "../db.ts";
import { unauthorized } from "./verify.ts";

const KNOWN_FOR_MS = 60_000;
const MAX_KNOWN = 10_000;

/** Key hash → when it was last found valid, oldest first. */
const known = new Map<string, number>();

async function resolve(keyHash: string): Promise<void> {
  const [row] = await db()`select public.resolve_api_key(${keyHash}) as key`;
  if (!row.key) throw unauthorized("Invalid API key");
  known.delete(keyHash);
  if (known.size >= MAX_KNOWN) known.delete(known.keys().next().value!);
  known.set(keyHash, Date.now());
}

/** Resolves when the key exists and is not revoked (as far as this instance knows); else a 401. */
export function checkApiKey(keyHash: string): Promise<void> {
  const seen = known.get(keyHash);
  if (seen !== undefined && Date.now() - seen < KNOWN_FOR_MS) return Promise.resolve();
  return resolve(keyHash);
}

/** Admission refused the key (revoked since it was seen valid): this instance forgets it at once. */
export function forgetApiKey(keyHash: string): void {
  known.delete(keyHash);
}
