// Wire formats, as Realtime negotiates them from the socket's `vsn` parameter:
//
// 1.0.0 (Phoenix.Socket.V1.JSONSerializer): text frames of JSON objects
//   {topic, event, payload, ref} — join_ref is read when a client sends it, never written.
// 2.0.0 (RealtimeWeb.Socket.V2Serializer): text frames of JSON arrays
//   [join_ref, ref, topic, event, payload], plus binary frames, each a kind byte then
//   one-byte lengths then the strings they measure, then the payload:
//     0 push (client)            kind, join_ref, topic, event sizes | strings | data
//     3 user broadcast push      kind, join_ref, ref, topic, user_event, metadata sizes,
//       (client)                 payload encoding (0 binary, 1 JSON) | strings | payload
//     4 user broadcast (server)  kind, topic, user_event, metadata sizes, payload encoding |
//                                strings | payload
// A v1 socket cannot carry a binary user payload: such broadcasts are not delivered to it, and
// JSON ones are turned into an ordinary broadcast {type, event, payload[, meta]}.

import type { Incoming, Outgoing, UserBroadcast } from "./messages.ts";

export type Vsn = "1.0.0" | "2.0.0";

export interface Serializer {
  readonly vsn: Vsn;
  /** Decodes one frame; throws MalformedMessage when it is not a Phoenix message. */
  decode(data: string | ArrayBuffer): Incoming;
  /** Encodes one message, or null when this protocol cannot represent it. */
  encode(msg: Outgoing): string | Uint8Array | null;
}

export class MalformedMessage extends Error {}

const KIND_PUSH = 0;
const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Phoenix's transport negotiation: no vsn means 1.0.0; only ~> 1.0.0 and ~> 2.0.0 are served. */
export function negotiate(vsn: string | null): Serializer | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(vsn ?? "1.0.0");
  if (!m) return null;
  if (m[1] === "1" && m[2] === "0") return v1;
  if (m[1] === "2" && m[2] === "0") return v2;
  return null;
}

const v1: Serializer = {
  vsn: "1.0.0",
  decode(data) {
    if (typeof data !== "string") throw new MalformedMessage("V1 JSON Serializer expected a text frame");
    const map = parseJson(data);
    if (typeof map !== "object" || map === null || Array.isArray(map)) {
      throw new MalformedMessage("V1 JSON Serializer expected a map");
    }
    const m = map as Record<string, unknown>;
    for (const key of ["topic", "event", "payload", "ref"]) {
      if (!(key in m)) throw new MalformedMessage(`missing key "${key}"`);
    }
    return {
      joinRef: stringOrNull(m.join_ref),
      ref: stringOrNull(m.ref),
      topic: String(m.topic),
      event: String(m.event),
      payload: m.payload,
    };
  },
  encode(msg) {
    switch (msg.kind) {
      case "reply":
        return JSON.stringify({
          topic: msg.topic,
          event: "phx_reply",
          payload: { status: msg.status, response: msg.response },
          ref: msg.ref,
        });
      case "push":
        return JSON.stringify({ topic: msg.topic, event: msg.event, payload: msg.payload, ref: msg.ref });
      case "broadcast":
        return JSON.stringify({ topic: msg.topic, event: msg.event, payload: msg.payload, ref: null });
      case "user_broadcast":
        return userBroadcastAsJson(msg);
    }
  },
};

const v2: Serializer = {
  vsn: "2.0.0",
  decode(data) {
    if (typeof data !== "string") return decodeBinary(new Uint8Array(data));
    const arr = parseJson(data);
    if (!Array.isArray(arr) || arr.length < 5) throw new MalformedMessage("expected V2 array");
    const [joinRef, ref, topic, event, payload] = arr;
    return {
      joinRef: stringOrNull(joinRef),
      ref: stringOrNull(ref),
      topic: String(topic),
      event: String(event),
      payload,
    };
  },
  encode(msg) {
    switch (msg.kind) {
      case "reply":
        return JSON.stringify([msg.joinRef, msg.ref, msg.topic, "phx_reply", {
          status: msg.status,
          response: msg.response,
        }]);
      case "push":
        return JSON.stringify([msg.joinRef, msg.ref, msg.topic, msg.event, msg.payload]);
      case "broadcast":
        return JSON.stringify([null, null, msg.topic, msg.event, msg.payload]);
      case "user_broadcast":
        return encodeUserBroadcast(msg);
    }
  },
};

function decodeBinary(bytes: Uint8Array): Incoming {
  const reader = new Reader(bytes);
  const kind = reader.byte();
  if (kind === KIND_PUSH) {
    const sizes = [reader.byte(), reader.byte(), reader.byte()];
    const [joinRef, topic, event] = sizes.map((n) => reader.string(n));
    return { joinRef, ref: null, topic, event, payload: undefined, binary: reader.rest() };
  }
  if (kind === KIND_USER_BROADCAST_PUSH) {
    const sizes = [reader.byte(), reader.byte(), reader.byte(), reader.byte(), reader.byte()];
    const encoding = reader.byte() === 0 ? "binary" : "json";
    const [joinRef, ref, topic, userEvent, metadata] = sizes.map((n) => reader.string(n));
    const meta = metadata === "" ? {} : parseJson(metadata);
    return {
      joinRef,
      ref,
      topic,
      event: "broadcast",
      payload: undefined,
      userBroadcast: {
        userEvent,
        encoding,
        data: reader.rest(),
        metadata: typeof meta === "object" && meta !== null ? meta as Record<string, unknown> : {},
      },
    };
  }
  throw new MalformedMessage(`unknown binary frame kind ${kind}`);
}

function encodeUserBroadcast(msg: UserBroadcast): Uint8Array {
  const topic = checked(utf8.encode(msg.topic), "topic");
  const event = checked(utf8.encode(msg.userEvent), "user_event");
  const metadata = checked(utf8.encode(msg.metadata ? JSON.stringify(msg.metadata) : ""), "metadata");
  const out = new Uint8Array(5 + topic.length + event.length + metadata.length + msg.data.length);
  out.set([
    KIND_USER_BROADCAST,
    topic.length,
    event.length,
    metadata.length,
    msg.encoding === "json" ? 1 : 0,
  ]);
  let offset = 5;
  for (const part of [topic, event, metadata, msg.data]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** UserBroadcast.convert_to_json_broadcast: the user payload goes in verbatim. */
function userBroadcastAsJson(msg: UserBroadcast): string | null {
  if (msg.encoding !== "json") return null;
  const raw = fromUtf8.decode(msg.data);
  const meta = msg.metadata ? `,"meta":${JSON.stringify(msg.metadata)}` : "";
  const payload = `{"event":${JSON.stringify(msg.userEvent)},"payload":${raw},"type":"broadcast"${meta}}`;
  return `{"topic":${JSON.stringify(msg.topic)},"event":"broadcast","payload":${payload},"ref":null}`;
}

function checked(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length > 255) throw new RangeError(`${what} must be at most 255 bytes, is ${bytes.length}`);
  return bytes;
}

class Reader {
  #offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  byte(): number {
    if (this.#offset >= this.bytes.length) throw new MalformedMessage("truncated binary frame");
    return this.bytes[this.#offset++];
  }
  string(length: number): string {
    const end = this.#offset + length;
    if (end > this.bytes.length) throw new MalformedMessage("truncated binary frame");
    const text = decodeUtf8(this.bytes.subarray(this.#offset, end));
    this.#offset = end;
    return text;
  }
  rest(): Uint8Array {
    return this.bytes.slice(this.#offset);
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return fromUtf8.decode(bytes);
  } catch {
    throw new MalformedMessage("invalid UTF-8 in binary frame");
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MalformedMessage(e instanceof Error ? e.message : String(e));
  }
}

function stringOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return String(value);
}
