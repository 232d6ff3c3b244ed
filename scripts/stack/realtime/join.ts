// The phx_join payload, read the way RealtimeWeb.Channels.Payloads.Join casts it: an invalid
// field falls back to its default rather than failing the join.

import { isObject } from "./messages.ts";

export interface JoinParams {
  accessToken: unknown;
  selfBroadcast: boolean;
  ackBroadcast: boolean;
  replicationReady: boolean;
  presenceEnabled: boolean;
  presenceKey: string;
  isPrivate: boolean;
  postgresChanges: Record<string, unknown>[];
}

export function readJoinParams(payload: unknown): JoinParams {
  const params = isObject(payload) ? payload : {};
  const config = isObject(params.config) ? params.config : {};
  const broadcast = isObject(config.broadcast) ? config.broadcast : {};
  const presence = isObject(config.presence) ? config.presence : {};
  const key = presence.key;
  const changes = Array.isArray(config.postgres_changes) ? config.postgres_changes : [];
  return {
    accessToken: params.access_token ?? params.user_token,
    selfBroadcast: flexibleBoolean(broadcast.self),
    ackBroadcast: flexibleBoolean(broadcast.ack),
    replicationReady: flexibleBoolean(broadcast.replication_ready),
    presenceEnabled: flexibleBoolean(presence.enabled),
    presenceKey: key === undefined || key === null || key === "" ? crypto.randomUUID() : String(key),
    isPrivate: flexibleBoolean(config.private),
    postgresChanges: changes.filter(isObject),
  };
}

/** RealtimeWeb.Channels.Payloads.FlexibleBoolean: booleans and their string spellings. */
function flexibleBoolean(value: unknown): boolean {
  if (typeof value === "string") return value.toLowerCase() === "true";
  return value === true;
}

/** Realtime answers postgres_changes params with an `id` (erlang:phash2 of the params). */
export function withIds(changes: Record<string, unknown>[]): Record<string, unknown>[] {
  return changes.map((params) => ({ ...params, id: phash(JSON.stringify(params)) }));
}

/** A stable integer in phash2's range (0 … 2^27-1). */
function phash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7ffffff;
}
