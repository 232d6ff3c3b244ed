// The project's secret keys as bearers: what operators (a metrics scraper) present to the admin
// endpoints. Compared in constant time: the comparison must not tell how much of a guess was right.

import { timingSafeEqual } from "node:crypto";
import { env } from "../env.ts";

/** Whether `token` is one of the project's secret keys (env.adminKeys). */
export function isSecretKey(token: string): boolean {
  const given = new TextEncoder().encode(token);
  return env.adminKeys.some((key) => {
    const expected = new TextEncoder().encode(key);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
