// Presence, as Phoenix.Presence keeps it for Realtime: per topic, each channel tracks at most one
// presence under its key (`config.presence.key`, or a generated one); a key may have several
// metas (one per channel tracking it). Every meta carries a unique `phx_ref`; an update replaces
// the meta with a new `phx_ref` and `phx_ref_prev` pointing to the old one. Changes become
// `presence_diff` {joins, leaves}, each `{key: {metas: [...]}}`; the full state is
// `presence_state` in the same grouped shape.

export type Meta = Record<string, unknown> & { phx_ref: string; phx_ref_prev?: string };
export type Grouped = Record<string, { metas: Meta[] }>;
export interface Diff {
  joins: Grouped;
  leaves: Grouped;
}

interface Entry {
  key: string;
  meta: Meta;
}

export class PresenceTracker {
  readonly #topics = new Map<string, Map<number, Entry>>();

  /** Tracks (or updates) the presence of channel `owner` on `topic`. */
  track(topic: string, owner: number, key: string, payload: Record<string, unknown>): Diff {
    let entries = this.#topics.get(topic);
    if (!entries) this.#topics.set(topic, entries = new Map());
    const previous = entries.get(owner);
    const meta: Meta = { ...payload, phx_ref: newRef() };
    if (previous && previous.key === key) meta.phx_ref_prev = previous.meta.phx_ref;
    entries.set(owner, { key, meta });
    const diff: Diff = { joins: { [key]: { metas: [meta] } }, leaves: {} };
    if (previous) diff.leaves[previous.key] = { metas: [previous.meta] };
    return diff;
  }

  /** Removes the presence of channel `owner` on `topic`; null when it tracked nothing. */
  untrack(topic: string, owner: number): Diff | null {
    const entries = this.#topics.get(topic);
    const previous = entries?.get(owner);
    if (!entries || !previous) return null;
    entries.delete(owner);
    if (entries.size === 0) this.#topics.delete(topic);
    return { joins: {}, leaves: { [previous.key]: { metas: [previous.meta] } } };
  }

  /** Phoenix.Presence.group of the topic's presences. */
  list(topic: string): Grouped {
    const grouped: Grouped = {};
    for (const { key, meta } of this.#topics.get(topic)?.values() ?? []) {
      (grouped[key] ??= { metas: [] }).metas.push(meta);
    }
    return grouped;
  }
}

/** A unique, opaque reference like Phoenix.Tracker's. */
function newRef(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}
