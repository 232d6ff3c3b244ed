// Broadcast from the database, as Realtime does it: the rows committed to realtime.messages
// (realtime.send() inserts them) are read from logical replication, through the publication
// supabase-base.sql creates (replication.ts keeps the stream open, across Postgres restarts).
// Only committed transactions are decoded, so the rows of rolled-back transactions (Realtime's
// authorization probes, authorize.ts) are never sent; a row's payload of any size arrives whole.
//
// Each row becomes a UserBroadcast of its event with its JSON payload (the jsonb's own text) and
// `meta: {id}`, sent to the subscribers of its topic (private rows to private channels, which
// also need broadcast read permission; the others to public ones). Rows without an event or
// payload are skipped, as Realtime skips them.

import { type Relation, text, type Value } from "./pgoutput.ts";
import { type PubSub, tenantTopic } from "./pubsub.ts";
import { streamInserts } from "./replication.ts";

/** Supabase's name for the publication Realtime reads realtime.messages through. */
export const MESSAGES_PUBLICATION = "supabase_realtime_messages_publication";

export interface DbListener {
  /** Whether the replication stream is open (database broadcasts are flowing). */
  readonly ready: boolean;
  close(): Promise<void>;
}

export function listenForBroadcasts(dbUrl: string, pubsub: PubSub): DbListener {
  const deliver = (relation: Relation, values: Value[]) => {
    if (relation.schema !== "realtime" || relation.table !== "messages") return;
    const column = (name: string) => values[relation.columns.indexOf(name)] ?? null;
    const topic = text(column("topic"));
    const event = text(column("event"));
    const payload = column("payload");
    if (topic === null || event === null || payload === null || isJsonNull(payload)) return;
    pubsub.broadcast(tenantTopic(topic, text(column("private")) === "t"), {
      kind: "user_broadcast",
      userEvent: event,
      encoding: "json",
      data: payload,
      metadata: { id: text(column("id")) },
    }, "broadcast");
  };

  const stream = streamInserts({
    dbUrl,
    publication: MESSAGES_PUBLICATION,
    onInsert: deliver,
    applicationName: "nexus-realtime-replication",
  });

  return {
    get ready() {
      return stream.streaming;
    },
    close: () => stream.close(),
  };
}

function isJsonNull(value: Uint8Array): boolean {
  return value.length === 4 && text(value) === "null";
}
