// The part of PostgreSQL's streaming replication protocol, and of the pgoutput plugin's messages
// (protocol version 1, text format), that reading a publication's inserts needs. postgres.js
// carries the connection and hands over each CopyData message; this reads them and writes the
// status updates that let the server recycle WAL.
// https://www.postgresql.org/docs/15/protocol-replication.html
// https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html

/** A table as a Relation message describes it; tuples list their values in `columns` order. */
export interface Relation {
  schema: string;
  table: string;
  columns: string[];
}

/**
 * One column of a tuple in text format: its bytes, `null` for SQL NULL, `undefined` for a TOASTed
 * value left unchanged (updates only: an insert always carries every value).
 */
export type Value = Uint8Array | null | undefined;

/** A message of the server on a replication stream (a CopyData body). */
export type ServerMessage =
  | { kind: "xlog"; body: Uint8Array }
  | { kind: "keepalive"; walEnd: bigint; replyRequested: boolean };

/** A pgoutput message: the two this reader acts on, everything else (Begin, Commit, Type…) passed over. */
export type PgOutputMessage =
  | { kind: "relation"; id: number; relation: Relation }
  | { kind: "insert"; relationId: number; values: Value[] }
  | { kind: "other"; tag: string };

const utf8 = new TextDecoder();
/** Replication timestamps count microseconds from 2000-01-01. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

export function readServerMessage(buf: Uint8Array): ServerMessage | null {
  switch (buf[0]) {
    case 0x77: // 'w' XLogData: start LSN, end of WAL, send time, then the plugin's message
      return { kind: "xlog", body: buf.subarray(25) };
    case 0x6b: // 'k' primary keepalive: end of WAL, send time, reply requested
      return { kind: "keepalive", walEnd: viewOf(buf).getBigUint64(1), replyRequested: buf[17] === 1 };
    default:
      return null;
  }
}

export function readPgOutput(body: Uint8Array): PgOutputMessage {
  const r = new Reader(body);
  const tag = String.fromCharCode(r.byte());
  if (tag === "R") {
    const id = r.uint32();
    const schema = r.cstring() || "pg_catalog";
    const table = r.cstring();
    r.byte(); // replica identity setting
    const columns = Array.from({ length: r.uint16() }, () => {
      r.byte(); // flags: part of the key
      const name = r.cstring();
      r.uint32(); // type oid
      r.uint32(); // type modifier
      return name;
    });
    return { kind: "relation", id, relation: { schema, table, columns } };
  }
  if (tag === "I") {
    const relationId = r.uint32();
    r.byte(); // 'N': a new tuple follows
    return { kind: "insert", relationId, values: r.tuple() };
  }
  return { kind: "other", tag };
}

/** A Standby Status Update: everything up to `lsn` is received, flushed and applied. */
export function standbyStatusUpdate(lsn: bigint, now = Date.now()): Uint8Array {
  const out = new Uint8Array(34);
  const view = viewOf(out);
  out[0] = 0x72; // 'r'
  view.setBigUint64(1, lsn);
  view.setBigUint64(9, lsn);
  view.setBigUint64(17, lsn);
  view.setBigInt64(25, BigInt(now - PG_EPOCH_MS) * 1000n);
  out[33] = 0; // no reply wanted
  return out;
}

export function text(value: Value): string | null {
  return value instanceof Uint8Array ? utf8.decode(value) : null;
}

function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

class Reader {
  #at = 0;
  readonly #view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.#view = viewOf(buf);
  }
  byte(): number {
    return this.#view.getUint8(this.#at++);
  }
  uint16(): number {
    const v = this.#view.getUint16(this.#at);
    this.#at += 2;
    return v;
  }
  uint32(): number {
    const v = this.#view.getUint32(this.#at);
    this.#at += 4;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.#at);
    if (end < 0) throw new Error("pgoutput: unterminated string");
    const s = utf8.decode(this.buf.subarray(this.#at, end));
    this.#at = end + 1;
    return s;
  }
  /** TupleData: per column 'n' (null), 'u' (unchanged TOAST) or 't' (length, text). */
  tuple(): Value[] {
    return Array.from({ length: this.uint16() }, () => {
      const kind = this.byte();
      if (kind === 0x6e) return null; // 'n'
      if (kind === 0x75) return undefined; // 'u'
      if (kind !== 0x74) throw new Error(`pgoutput: unexpected column kind ${kind}`); // 't'
      const length = this.uint32();
      const value = this.buf.subarray(this.#at, this.#at + length);
      if (value.length !== length) throw new Error("pgoutput: truncated column");
      this.#at += length;
      return value;
    });
  }
}
