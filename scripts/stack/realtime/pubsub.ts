// Fan-out to the channels joined to a topic, like Realtime's MessageDispatcher: a message is
// encoded once per wire format and the same frame goes to every subscriber using that format.
// Public and private channels of the same name are different topics (Tenants.tenant_topic).

import type { Fanout, Outgoing } from "./messages.ts";
import type { Serializer } from "./serializer.ts";

/** What the dispatcher gates delivery on: broadcasts need broadcast read, diffs presence read. */
export type Category = "broadcast" | "presence";

export interface Subscriber {
  readonly serializer: Serializer;
  /** The topic the client joined, e.g. `realtime:room-1`. */
  readonly joinTopic: string;
  /** Whether this subscriber may receive messages of this category now. */
  receives(category: Category): boolean;
  send(frame: string | Uint8Array): void;
}

export function tenantTopic(subTopic: string, isPrivate: boolean): string {
  return `${isPrivate ? "private" : "public"}:${subTopic}`;
}

export class PubSub {
  readonly #topics = new Map<string, Set<Subscriber>>();

  subscribe(topic: string, sub: Subscriber) {
    let subs = this.#topics.get(topic);
    if (!subs) this.#topics.set(topic, subs = new Set());
    subs.add(sub);
  }

  unsubscribe(topic: string, sub: Subscriber) {
    const subs = this.#topics.get(topic);
    if (!subs) return;
    subs.delete(sub);
    if (subs.size === 0) this.#topics.delete(topic);
  }

  subscribers(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /** Sends `msg` to every subscriber of `topic` allowed to receive it, except `from`. */
  broadcast(topic: string, msg: Fanout, category: Category, from?: Subscriber) {
    const subs = this.#topics.get(topic);
    if (!subs) return;
    const cache = new Map<string, string | Uint8Array | null>();
    for (const sub of [...subs]) {
      if (sub === from || !sub.receives(category)) continue;
      const key = `${sub.serializer.vsn}\n${sub.joinTopic}`;
      let frame = cache.get(key);
      if (frame === undefined) {
        frame = encode(sub, msg);
        cache.set(key, frame);
      }
      if (frame !== null) sub.send(frame);
    }
  }
}

function encode(sub: Subscriber, msg: Fanout): string | Uint8Array | null {
  try {
    return sub.serializer.encode({ ...msg, topic: sub.joinTopic } as Outgoing);
  } catch (e) {
    // e.g. a topic or event over 255 bytes cannot be framed: Realtime drops the message too
    console.error(`[realtime] cannot encode ${msg.kind} for ${sub.joinTopic}: ${e}`);
    return null;
  }
}
