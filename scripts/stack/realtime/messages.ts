// The messages the Realtime stand-in reads from and writes to a socket, independent of how a
// protocol version puts them on the wire (serializer.ts does that). They follow Phoenix's
// Message / Reply / Broadcast structs and Realtime's UserBroadcast (a broadcast whose user
// payload travels as raw bytes, JSON or binary).

/** A client's broadcast pushed as a binary frame (vsn 2.0.0, kind 3). */
export interface UserBroadcastPush {
  userEvent: string;
  encoding: "json" | "binary";
  data: Uint8Array;
  metadata: Record<string, unknown>;
}

/** A decoded incoming frame: Phoenix.Socket.Message. */
export interface Incoming {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  /** The JSON payload of a text frame (undefined for binary frames). */
  payload: unknown;
  /** A binary user broadcast push (kind 3): event "broadcast". */
  userBroadcast?: UserBroadcastPush;
  /** A binary push (kind 0): its raw payload. */
  binary?: Uint8Array;
}

/** Phoenix.Socket.Reply: the answer to a push that carried a ref. */
export interface Reply {
  kind: "reply";
  joinRef: string | null;
  ref: string | null;
  topic: string;
  status: "ok" | "error";
  response: Record<string, unknown>;
}

/** Phoenix.Socket.Message pushed by the server to one channel (system, presence_state, phx_close…). */
export interface Push {
  kind: "push";
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

/** Phoenix.Socket.Broadcast with a JSON payload, fanned out to every subscriber ("fastlane"). */
export interface JsonBroadcast {
  kind: "broadcast";
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

/** RealtimeWeb.Socket.UserBroadcast: event "broadcast" whose user payload is kept as bytes. */
export interface UserBroadcast {
  kind: "user_broadcast";
  topic: string;
  userEvent: string;
  encoding: "json" | "binary";
  data: Uint8Array;
  metadata: Record<string, unknown> | null;
}

export type Outgoing = Reply | Push | JsonBroadcast | UserBroadcast;

/** What fans out to the subscribers of a topic; the topic is filled in per subscriber. */
export type Fanout = Omit<JsonBroadcast, "topic"> | Omit<UserBroadcast, "topic">;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
