// The inserts of a publication, read from logical replication for as long as they are wanted, as
// Realtime's ReplicationConnection reads realtime.messages: a replication connection (postgres.js
// carries the protocol), a TEMPORARY pgoutput slot, START_REPLICATION from the slot's consistent
// point. The server decodes only committed transactions, so a row rolled back never arrives.
//
// A temporary slot is dropped by the server when its connection ends, however it ends (close, a
// killed process, a restarted Postgres), so no slot outlives the stand-in to hold WAL back; while
// streaming, status updates confirm what was received so the server can recycle WAL. Rows
// committed while no slot exists (the database restarting) are missed, as with any temporary
// slot. When the stream is lost it is opened again, retrying with a capped backoff until the
// database answers.
//
// Not postgres.js's own sql.subscribe(): on a lost connection it re-creates its slot from the
// connection's close handler and nothing catches that promise, so a Postgres restart (refused
// connections while it is down) ends the whole process with an unhandled rejection.

import type { Duplex } from "node:stream";
import postgres from "postgres";
import {
  readPgOutput,
  readServerMessage,
  type Relation,
  standbyStatusUpdate,
  type Value,
} from "./pgoutput.ts";

export interface InsertStreamOptions {
  dbUrl: string;
  publication: string;
  /** Each insert of a committed transaction, in commit order. `values` are in `relation.columns` order. */
  onInsert(relation: Relation, values: Value[]): void;
  applicationName?: string;
  log?: (message: string) => void;
}

export interface InsertStream {
  /** Whether the stream is open: inserts committed from now on will arrive. */
  readonly streaming: boolean;
  /** Ends the stream (its slot goes with the connection) and stops reopening it. */
  close(): Promise<void>;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;
/**
 * How often, at most, a keepalive the server did not ask a reply to is answered. The server asks
 * at least every wal_sender_timeout / 2 (30 s by default); answering the unasked ones too keeps
 * the slot's confirmed position (and so the WAL it retains) within seconds of the end of WAL,
 * without a reply to every flush under a write load.
 */
const STATUS_INTERVAL_MS = 5_000;

export function streamInserts(opts: InsertStreamOptions): InsertStream {
  const log = opts.log ?? ((m: string) => console.error(m));
  let streaming = false;
  let closed = false;
  /** Whether the last attempt failed or the stream was lost (logged once, and once when back). */
  let outage = false;
  let current: postgres.Sql | undefined;
  let wake: (() => void) | undefined;

  /** One replication connection, from slot creation until the stream ends. */
  async function session(): Promise<void> {
    const sql = postgres(opts.dbUrl, {
      max: 1,
      fetch_types: false,
      idle_timeout: undefined,
      max_lifetime: null,
      onnotice: () => {},
      connection: { application_name: opts.applicationName ?? "nexus-replication", replication: "database" },
    });
    current = sql;
    try {
      if (closed) return;
      const slot = `realtime_messages_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      const [created] = await sql.unsafe(
        `CREATE_REPLICATION_SLOT ${slot} TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT`,
      );
      const stream = await sql.unsafe(
        `START_REPLICATION SLOT ${slot} LOGICAL ${created.consistent_point} ` +
          `(proto_version '1', publication_names '${opts.publication}')`,
      ).writable() as unknown as Duplex; // CopyBoth: postgres.js gives a Duplex
      streaming = true;
      if (outage) log(`[realtime] replication of ${opts.publication} reopened`);
      outage = false;
      const relations = new Map<number, Relation>();
      let lastStatus = 0;
      const receive = (chunk: Uint8Array) => {
        const msg = readServerMessage(chunk);
        if (msg?.kind === "xlog") {
          const out = readPgOutput(msg.body);
          if (out.kind === "relation") relations.set(out.id, out.relation);
          if (out.kind === "insert") {
            const relation = relations.get(out.relationId);
            if (relation) opts.onInsert(relation, out.values);
          }
        } else if (msg?.kind === "keepalive") {
          if (msg.replyRequested || Date.now() - lastStatus >= STATUS_INTERVAL_MS) {
            lastStatus = Date.now();
            stream.write(standbyStatusUpdate(msg.walEnd));
          }
        }
      };
      await new Promise<void>((resolve) => {
        stream.on("data", (chunk: Uint8Array) => {
          // thrown from here, an error would escape into the socket's event handlers
          try {
            receive(chunk);
          } catch (e) {
            log(`[realtime] replication message skipped: ${errorText(e)}`);
          }
        });
        stream.on("error", () => {}); // the connection's end: "close" follows
        stream.on("close", () => resolve());
      });
    } finally {
      streaming = false;
      current = undefined;
      await sql.end({ timeout: 0 }).catch(() => {});
    }
  }

  const running = (async () => {
    let delay = RETRY_MIN_MS;
    while (!closed) {
      try {
        await session();
        if (closed) break;
        log(`[realtime] replication of ${opts.publication} lost; reopening`);
        outage = true;
        delay = RETRY_MIN_MS;
      } catch (e) {
        if (closed) break;
        if (!outage) log(`[realtime] cannot replicate ${opts.publication} (retrying): ${errorText(e)}`);
        outage = true;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => (clearTimeout(timer), resolve());
      });
      wake = undefined;
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  })();

  return {
    get streaming() {
      return streaming;
    },
    async close() {
      closed = true;
      wake?.();
      await current?.end({ timeout: 0 }).catch(() => {});
      await running;
    },
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
