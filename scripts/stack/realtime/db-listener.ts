// Broadcast from the database. On Supabase, Realtime reads the rows committed to
// realtime.messages (realtime.send() inserts them) from logical replication; here a trigger
// (supabase-base.sql) NOTIFYs each committed row on one channel this listener LISTENs to. A row
// too large for a notification (8000 bytes) arrives as its key and is read back.
//
// Each row becomes a UserBroadcast of its event with its JSON payload and `meta: {id}`, sent to
// the subscribers of its topic (private rows to private channels, which also need broadcast
// read permission; the others to public ones). Rows without an event or payload are skipped, as
// Realtime skips them.

import type postgres from "postgres";
import { isObject } from "./messages.ts";
import { type PubSub, tenantTopic } from "./pubsub.ts";

export const NOTIFY_CHANNEL = "realtime_messages_inserted";

interface Row {
  id: string;
  topic: string | null;
  event: string | null;
  private: boolean | null;
  payload: unknown;
}

export interface DbListener {
  readonly ready: boolean;
  close(): Promise<void>;
}

export async function listenForBroadcasts(sql: postgres.Sql, pubsub: PubSub): Promise<DbListener> {
  let ready = false;
  let queue: Promise<void> = Promise.resolve();
  const utf8 = new TextEncoder();

  const deliver = (row: Row) => {
    if (typeof row.topic !== "string" || typeof row.event !== "string") return;
    if (row.payload === null || row.payload === undefined) return;
    pubsub.broadcast(tenantTopic(row.topic, row.private === true), {
      kind: "user_broadcast",
      userEvent: row.event,
      encoding: "json",
      data: utf8.encode(JSON.stringify(row.payload)),
      metadata: { id: row.id },
    }, "broadcast");
  };

  const onNotify = (text: string) => {
    queue = queue.then(async () => {
      const note = JSON.parse(text) as Record<string, unknown>;
      if (note.truncated === true) {
        // compared as text: a timestamp parameter would go through a JS Date (milliseconds)
        const rows = await sql<Row[]>`
          select id, topic, event, private, payload from realtime.messages
          where id = ${String(note.id)}::uuid
            and to_json(inserted_at)::text = ${JSON.stringify(note.inserted_at)}`;
        if (rows[0]) deliver(rows[0]);
        return;
      }
      if (isObject(note)) deliver(note as unknown as Row);
    }).catch((e) => console.error("[realtime] database broadcast:", e));
  };

  const { unlisten } = await sql.listen(NOTIFY_CHANNEL, onNotify, () => {
    ready = true;
  });
  ready = true;

  return {
    get ready() {
      return ready;
    },
    async close() {
      ready = false;
      await unlisten().catch(() => {});
      await queue;
    },
  };
}
