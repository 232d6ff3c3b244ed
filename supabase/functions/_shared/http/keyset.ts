// Keyset paging, newest first, on (a time, an id): a page's cursor is its last row's time in
// microseconds and its id. Exact to the microsecond: a JSON date rounds to the millisecond and
// would skip or repeat rows at a page's edge.

import { z } from "zod";
import type postgres from "postgres";

/** A `before` query parameter: the `nextCursor` of the previous page. */
export const KeysetCursor = z.string().regex(
  /^\d{1,17}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  "a nextCursor from the previous page",
);

type Sql = postgres.TransactionSql;
type Fragment = ReturnType<Sql>;

/** A row's cursor, to select `as cursor`. */
export const cursorOf = (sql: Sql, at: Fragment, id: Fragment) =>
  sql`(extract(epoch from ${at}) * 1000000)::bigint::text || '.' || ${id}`;

/** The rows after the cursor in newest-first order, or all of them without one. */
export function olderThan(sql: Sql, at: Fragment, id: Fragment, before: string | undefined) {
  if (!before) return sql`true`;
  const [micros, lastId] = before.split(".");
  return sql`(${at}, ${id}) < (timestamptz 'epoch' + (${micros} || ' microseconds')::interval,
                               ${lastId.toLowerCase()}::uuid)`;
}

/**
 * A page of rows fetched with `limit + 1` (the extra one says whether more remain), without
 * their cursor column, and the next page's cursor (null on the last page).
 */
export function pageOf<R extends { cursor?: unknown }>(rows: readonly R[], limit: number) {
  const page = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? String(page.at(-1)!.cursor) : null;
  return { page: page.map(({ cursor: _, ...row }) => row), nextCursor };
}
