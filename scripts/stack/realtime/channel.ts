// One joined channel (RealtimeWeb.RealtimeChannel): joining and its authorization, then the
// client's broadcast, presence and access_token messages, and the server-side ends — leave,
// token expiry, revoked access — each as Realtime answers them.
//
// Messages of one channel are handled one at a time, in order, as a channel process would.

import {
  type AuthorizationContext,
  DatabaseUnavailable,
  emptyPolicies,
  type Policies,
  PolicyError,
  readPolicies,
  writePolicies,
} from "./authorize.ts";
import type { RealtimeContext } from "./context.ts";
import { type JoinParams, readJoinParams, withIds } from "./join.ts";
import { type Fanout, type Incoming, isObject, type Outgoing } from "./messages.ts";
import type { Diff } from "./presence.ts";
import { type Category, type Subscriber, tenantTopic } from "./pubsub.ts";
import type { Serializer } from "./serializer.ts";
import { type Claims, currentTime, joinErrorReason, shutdownMessage } from "./tokens.ts";

/** The socket a channel lives on. */
export interface ChannelHost {
  readonly serializer: Serializer;
  /** The API key the socket connected with: the access token when a join names none. */
  readonly apiKey: string;
  /** The upgrade request's x- headers. */
  readonly headers: Record<string, string>;
  readonly open: boolean;
  readonly channelCount: number;
  send(msg: Outgoing): void;
  sendFrame(frame: string | Uint8Array): void;
  /** Forgets a channel that ended. */
  detach(channel: Channel): void;
}

const CONFIRM_TOKEN_MAX_MS = 5 * 60_000;
const REPLICATION_READY_CHECK_MS = 500;
let nextId = 1;

export type JoinOutcome = { ok: true; channel: Channel } | { ok: false; reason: string };

export class Channel implements Subscriber {
  readonly id = nextId++;
  readonly serializer: Serializer;
  readonly tenantTopic: string;
  #state: "joined" | "closed" = "joined";
  #queue: Promise<void> = Promise.resolve();
  #policies: Policies | null;
  #accessToken: string;
  #claims: Claims;
  #presenceEnabled: boolean;
  #trackedPayload: Record<string, unknown> | null = null;
  #presenceWindow = { counter: 0, resetAt: 0 };
  #confirmTimer?: ReturnType<typeof setTimeout>;
  #replicationTimer?: ReturnType<typeof setTimeout>;

  private constructor(
    private readonly ctx: RealtimeContext,
    private readonly host: ChannelHost,
    readonly joinTopic: string,
    readonly subTopic: string,
    readonly joinRef: string | null,
    private readonly params: JoinParams,
    auth: { token: string; claims: Claims; policies: Policies | null },
  ) {
    this.serializer = host.serializer;
    this.tenantTopic = tenantTopic(subTopic, params.isPrivate);
    this.#accessToken = auth.token;
    this.#claims = auth.claims;
    this.#policies = auth.policies;
    this.#presenceEnabled = params.presenceEnabled;
  }

  get isPrivate(): boolean {
    return this.params.isPrivate;
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /**
   * RealtimeChannel.join: checks the topic, the channel limit, the access token and, for a
   * private channel, read permission. On success the channel is subscribed and has replied.
   */
  static async join(ctx: RealtimeContext, host: ChannelHost, msg: Incoming): Promise<JoinOutcome> {
    const subTopic = msg.topic.slice("realtime:".length);
    if (subTopic === "") return { ok: false, reason: "TopicNameRequired: You must provide a topic name" };
    const params = readJoinParams(msg.payload);
    if (host.channelCount >= ctx.limits.maxChannelsPerClient) {
      return { ok: false, reason: "ChannelRateLimitReached: Too many channels" };
    }

    const token = chooseToken(params.accessToken, host.apiKey);
    const checked = await ctx.verify(token);
    if (!checked.ok) return { ok: false, reason: joinErrorReason(checked) };

    let policies: Policies | null = null;
    if (params.isPrivate) {
      const authCtx = { topic: subTopic, claims: checked.claims, headers: host.headers };
      try {
        policies = await readPolicies(ctx.sql, authCtx, emptyPolicies(), {
          presence: params.presenceEnabled,
        });
      } catch (e) {
        if (e instanceof DatabaseUnavailable) {
          return {
            ok: false,
            reason: "UnableToConnectToProject: Realtime was unable to connect to the project database",
          };
        }
        console.error(`[realtime] RlsPolicyError on ${subTopic}: ${e instanceof Error ? e.message : e}`);
        policies = emptyPolicies();
      }
      if (!policies.broadcast.read && !policies.presence.read) {
        return { ok: false, reason: unauthorizedReason(subTopic) };
      }
    }
    if (!host.open) return { ok: false, reason: "socket closed" };

    const channel = new Channel(ctx, host, msg.topic, subTopic, msg.joinRef, params, {
      token,
      claims: checked.claims,
      policies,
    });
    ctx.pubsub.subscribe(channel.tenantTopic, channel);
    host.send({
      kind: "reply",
      joinRef: msg.joinRef,
      ref: msg.ref,
      topic: msg.topic,
      status: "ok",
      response: { postgres_changes: withIds(params.postgresChanges) },
    });
    channel.#afterJoin();
    return { ok: true, channel };
  }

  /** What Realtime does right after the join reply: system notices, presence_state, timers. */
  #afterJoin() {
    if (this.params.postgresChanges.length > 0) {
      this.#system(
        "postgres_changes",
        "error",
        "PostgresChangesNotSupported: the local Realtime stand-in serves Broadcast and Presence only",
      );
    }
    if (this.params.replicationReady) {
      this.#notifyReplicationReady(Date.now() + this.ctx.limits.replicationReadyTimeoutMs);
    }
    if (this.#presenceEnabled) this.#syncPresence();
    this.#scheduleTokenCheck();
  }

  /** Queues a message from the client for this channel. */
  enqueue(msg: Incoming) {
    this.#run(() => this.#handle(msg));
  }

  #run(task: () => Promise<void> | void) {
    this.#queue = this.#queue.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (e) {
        console.error(`[realtime] ${this.joinTopic}:`, e);
      }
    });
  }

  async #handle(msg: Incoming) {
    switch (msg.event) {
      case "phx_leave":
        this.#reply(msg, "ok", {});
        this.end({ notify: true });
        return;
      case "broadcast":
        return await this.#onBroadcast(msg);
      case "presence":
        return await this.#onPresence(msg);
      case "access_token":
        return await this.#onAccessToken(msg);
      default:
        // "Unexpected message from client": ignored, no reply
        return;
    }
  }

  // ---- broadcast ------------------------------------------------------------------------------

  async #onBroadcast(msg: Incoming) {
    let fanout: Fanout;
    if (msg.userBroadcast) {
      const { userEvent, encoding, data } = msg.userBroadcast;
      fanout = { kind: "user_broadcast", userEvent, encoding, data, metadata: null };
    } else if (isObject(msg.payload)) {
      fanout = { kind: "broadcast", event: "broadcast", payload: msg.payload };
    } else {
      return; // Realtime's channel only takes map payloads
    }

    if (this.isPrivate) {
      if (this.#policies?.broadcast.write == null) {
        try {
          this.#policies = await writePolicies(
            this.ctx.sql,
            this.#authContext(),
            this.#policies ?? emptyPolicies(),
          );
        } catch (e) {
          console.error(
            `[realtime] UnableToSetPolicies on ${this.subTopic}: ${e instanceof Error ? e.message : e}`,
          );
          return;
        }
        if (this.closed) return;
      }
      // Without write permission the broadcast is dropped and not acknowledged.
      if (!this.#policies.broadcast.write) return;
    }

    this.ctx.pubsub.broadcast(
      this.tenantTopic,
      fanout,
      "broadcast",
      this.params.selfBroadcast ? undefined : this,
    );
    if (this.params.ackBroadcast) this.#reply(msg, "ok", {});
  }

  // ---- presence -------------------------------------------------------------------------------

  async #onPresence(msg: Incoming) {
    const payload = msg.payload;
    if (!isObject(payload) || !("event" in payload)) return this.#reply(msg, "ok", {});
    if (!this.#countPresenceCall()) return this.shutdown("Client presence rate limit exceeded");

    const event = String(payload.event).toLowerCase();
    if (event === "untrack") {
      this.#publishDiff(this.ctx.presence.untrack(this.tenantTopic, this.id));
      this.#trackedPayload = null;
      return this.#reply(msg, "ok", {});
    }
    if (event !== "track") return this.#reply(msg, "error", {});

    if (this.isPrivate) {
      if (this.#policies?.presence.write == null) {
        try {
          let policies = this.#policies ?? emptyPolicies();
          if (policies.presence.read == null) {
            policies = await readPolicies(this.ctx.sql, this.#authContext(), policies, { presence: true });
          }
          this.#policies = await writePolicies(this.ctx.sql, this.#authContext(), policies, {
            presence: true,
          });
        } catch (e) {
          console.error(
            `[realtime] UnableToHandlePresence on ${this.subTopic}: ${e instanceof Error ? e.message : e}`,
          );
          return this.#reply(msg, "error", {});
        }
        if (this.closed) return;
      }
      if (!this.#policies.presence.write) return this.#reply(msg, "error", {});
    }

    const meta = "payload" in payload ? payload.payload : {};
    if (!isObject(meta)) return this.#reply(msg, "error", { reason: "Presence track payload must be a map" });
    if (this.#trackedPayload && sameJson(this.#trackedPayload, meta)) return this.#reply(msg, "ok", {});

    this.#publishDiff(this.ctx.presence.track(this.tenantTopic, this.id, this.params.presenceKey, meta));
    this.#presenceEnabled = true;
    this.#trackedPayload = meta;
    this.#reply(msg, "ok", {});
  }

  /** The per-client presence rate limit: at most N track/untrack calls per window. */
  #countPresenceCall(): boolean {
    const now = Date.now();
    const w = this.#presenceWindow;
    if (w.resetAt === 0 || now > w.resetAt) {
      this.#presenceWindow = { counter: 1, resetAt: now + this.ctx.limits.clientPresenceWindowMs };
      return true;
    }
    if (w.counter >= this.ctx.limits.clientPresenceMaxCalls) return false;
    w.counter++;
    return true;
  }

  #publishDiff(diff: Diff | null) {
    if (diff) {
      this.ctx.pubsub.broadcast(this.tenantTopic, {
        kind: "broadcast",
        event: "presence_diff",
        payload: { ...diff },
      }, "presence");
    }
  }

  #syncPresence() {
    if (this.isPrivate && this.#policies?.presence.read !== true) return;
    this.#push("presence_state", this.ctx.presence.list(this.tenantTopic));
  }

  // ---- access_token ---------------------------------------------------------------------------

  async #onAccessToken(msg: Incoming) {
    const token = isObject(msg.payload) ? msg.payload.access_token : undefined;
    if (typeof token !== "string" || token.startsWith("sb_") || token === this.#accessToken) return;

    // The policies are re-evaluated for the new token; until then deliveries keep the old ones,
    // as Realtime keeps its fastlane subscription until it resubscribes.
    const previous = this.#policies;
    this.#accessToken = token;
    const checked = await this.ctx.verify(token);
    if (!checked.ok) return this.shutdown(shutdownMessage(checked));
    this.#claims = checked.claims;

    if (this.isPrivate) {
      let policies: Policies;
      try {
        policies = await readPolicies(this.ctx.sql, this.#authContext(), emptyPolicies(), {
          presence: this.#presenceEnabled,
        });
      } catch (e) {
        if (e instanceof PolicyError) {
          return this.shutdown(
            `You do not have permissions to read from this Channel topic: ${this.subTopic}`,
          );
        }
        return this.shutdown("Realtime was unable to connect to the project database");
      }
      if (this.closed) return;
      if (!policies.broadcast.read && !policies.presence.read) {
        return this.shutdown(`You do not have permissions to read from this Channel topic: ${this.subTopic}`);
      }
      if (
        revoked(previous?.broadcast.read, policies.broadcast.read) ||
        revoked(previous?.presence.read, policies.presence.read)
      ) {
        return this.shutdown(
          `You no longer have permission to read from this Channel topic: ${this.subTopic}`,
        );
      }
      this.#policies = policies;
    }
    this.#scheduleTokenCheck();
  }

  /** Realtime re-checks the token every 5 minutes, and at its expiry. */
  #scheduleTokenCheck() {
    clearTimeout(this.#confirmTimer);
    if (this.closed) return;
    const left = this.#claims.exp - currentTime();
    this.#confirmTimer = setTimeout(() => {
      this.#run(async () => {
        const checked = await this.ctx.verify(this.#accessToken);
        if (!checked.ok) return this.shutdown(shutdownMessage(checked));
        this.#claims = checked.claims;
        this.#scheduleTokenCheck();
      });
    }, Math.max(0, Math.min(CONFIRM_TOKEN_MAX_MS, left * 1000)));
  }

  #notifyReplicationReady(deadline: number) {
    if (this.closed) return;
    if (this.ctx.replicationReady()) {
      this.#system("system", "ok", "Replication connection established");
    } else if (Date.now() >= deadline) {
      this.shutdown("Replication connection was not established in time");
    } else {
      this.#replicationTimer = setTimeout(
        () => this.#notifyReplicationReady(deadline),
        REPLICATION_READY_CHECK_MS,
      );
    }
  }

  // ---- delivery -------------------------------------------------------------------------------

  receives(category: Category): boolean {
    if (this.closed) return false;
    if (!this.isPrivate) return true;
    return category === "broadcast"
      ? this.#policies?.broadcast.read === true
      : this.#policies?.presence.read === true;
  }

  send(frame: string | Uint8Array) {
    this.host.sendFrame(frame);
  }

  // ---- endings --------------------------------------------------------------------------------

  /** shutdown_response: a `system` error naming the reason, then the channel closes. */
  shutdown(message: string) {
    if (this.closed) return;
    this.#system("system", "error", message);
    this.end({ notify: true });
  }

  /**
   * Ends the channel: unsubscribed, its presence untracked (the others see it leave), timers
   * stopped. With `notify` the client is told with phx_close, as after a leave or a shutdown.
   */
  end({ notify }: { notify: boolean }) {
    if (this.closed) return;
    this.#state = "closed";
    clearTimeout(this.#confirmTimer);
    clearTimeout(this.#replicationTimer);
    this.ctx.pubsub.unsubscribe(this.tenantTopic, this);
    this.#publishDiff(this.ctx.presence.untrack(this.tenantTopic, this.id));
    this.host.detach(this);
    if (notify) {
      this.host.send({
        kind: "push",
        joinRef: this.joinRef,
        ref: this.joinRef,
        topic: this.joinTopic,
        event: "phx_close",
        payload: {},
      });
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  #authContext(): AuthorizationContext {
    return { topic: this.subTopic, claims: this.#claims, headers: this.host.headers };
  }

  #reply(msg: Incoming, status: "ok" | "error", response: Record<string, unknown>) {
    this.host.send({
      kind: "reply",
      joinRef: this.joinRef,
      ref: msg.ref,
      topic: this.joinTopic,
      status,
      response,
    });
  }

  #push(event: string, payload: Record<string, unknown>) {
    this.host.send({ kind: "push", joinRef: this.joinRef, ref: null, topic: this.joinTopic, event, payload });
  }

  #system(extension: string, status: "ok" | "error", message: string) {
    this.#push("system", { extension, status, message, channel: this.subTopic });
  }
}

/** The join's access token: `access_token` (or `user_token`), else the socket's API key. */
function chooseToken(fromJoin: unknown, apiKey: string): string {
  if (typeof fromJoin !== "string" || fromJoin.startsWith("sb_")) return apiKey;
  return fromJoin;
}

export function unauthorizedReason(subTopic: string): string {
  return `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`;
}

function revoked(before: boolean | null | undefined, now: boolean | null): boolean {
  return before === true && now === false;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
