// What every part of the Realtime stand-in shares: the database, the fan-out, presence, token
// checks and the limits Realtime applies per tenant.

import type postgres from "postgres";
import type { PresenceTracker } from "./presence.ts";
import type { PubSub } from "./pubsub.ts";
import type { TokenVerifier } from "./tokens.ts";

export interface Limits {
  /** tenant max_channels_per_client (Realtime's default: 100) */
  maxChannelsPerClient: number;
  /** CLIENT_PRESENCE_MAX_CALLS / CLIENT_PRESENCE_WINDOW_MS (5 per 30 s) */
  clientPresenceMaxCalls: number;
  clientPresenceWindowMs: number;
  /** replication_ready_timeout (1 min) */
  replicationReadyTimeoutMs: number;
  /** Phoenix's websocket timeout: a socket silent this long is closed (60 s). */
  idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxChannelsPerClient: 100,
  clientPresenceMaxCalls: 5,
  clientPresenceWindowMs: 30_000,
  replicationReadyTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
};

export interface RealtimeContext {
  sql: postgres.Sql;
  pubsub: PubSub;
  presence: PresenceTracker;
  verify: TokenVerifier;
  /** Whether database broadcasts are flowing (the replication stream of realtime.messages is open). */
  replicationReady(): boolean;
  limits: Limits;
}
