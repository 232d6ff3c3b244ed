// Live updates over Supabase Realtime (DESIGN §7): my private `user:<id>` channel (quota events,
// conversations shared with me or taken away) and the current conversation's private channel
// (presence with {userId, displayName, typing}, `typing` broadcasts, `message` events naming a
// stored message, member changes). The connection state drives the header's indicator.

import type { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js";
import { type Connection, emit } from "./state.ts";

const TYPING_TTL_MS = 5_000;
const TYPING_SEND_EVERY_MS = 2_000;

export interface QuotaEvent {
  requestId: string;
  cost: number;
  model: string;
  quota: {
    tier: string;
    monthRemaining: number | null;
    monthlyQuota: number | null;
    minuteRemaining?: number;
  };
  totals: { total: number; month: number; requests: number };
}

/**
 * What a `message` event says: which message was stored, not what it says. Any member may send
 * broadcasts on the room (typing needs it), so nothing here is shown; the message is read by id.
 */
export interface MessageEvent {
  id: string;
  conversationId: string;
  userId: string | null;
}

export interface RealtimeHandlers {
  onQuota(e: QuotaEvent): void;
  /** A conversation was shared with me (removed: false) or taken away from me (removed: true). */
  onConversationsChanged(e: { conversationId?: string; removed: boolean }): void;
  /** A message was stored: the event names it, the handler reads it (anyone in the room can forge one). */
  onMessage(e: MessageEvent): void;
  onMembersChanged(e: { userId: string; removed: boolean }): void;
  /** Someone invited me to a conversation (the handler reads my invitations). */
  onInvitation(): void;
  /**
   * A channel is back after a gap (the connection dropped and supabase-js rejoined): what was
   * broadcast meanwhile is lost (Realtime keeps nothing for us; a hosted project may also drop
   * broadcasts over its limits), so the handler reads again what the channel would have told.
   * `conversationId` is the room's; null for my user channel.
   */
  onResumed(e: { conversationId: string | null }): void;
}

export function createRealtime(supabase: SupabaseClient, handlers: RealtimeHandlers) {
  let me: { id: string; name: string } | null = null;
  let userChannel: RealtimeChannel | null = null;
  let room: RealtimeChannel | null = null;
  let roomId: string | null = null;
  /** Who is typing (user ids; the views name them from the member list), until when. */
  const typing = new Map<string, number>();
  let lastTypingSent = 0;
  /** Whether my presence says I am typing (DESIGN §7), and the timer that clears it when I pause. */
  let typingTracked = false;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;
  let typingTimer: ReturnType<typeof setInterval> | undefined;
  /** Bumped by each start and stop: a start still setting up when it is bumped creates nothing. */
  let generation = 0;

  /** The last subscribe status of each channel I hold (a channel I let go of is removed first). */
  const statuses = new Map<RealtimeChannel, string>();

  function setConnection(c: Connection) {
    emit("connection", c);
  }

  /**
   * The indicator sums up the channels I hold: live when all are subscribed, reconnecting while any
   * is in error (supabase-js rejoins it), connecting before the first join. A channel closed because
   * I left it (another conversation) is not a lost connection, so it no longer counts.
   */
  function track(channel: RealtimeChannel) {
    return (status: string) => {
      if (!statuses.has(channel)) return; // let go of: its CLOSED says nothing about the connection
      statuses.set(channel, status);
      const all = [...statuses.values()];
      if (all.some((s) => s === "CHANNEL_ERROR" || s === "TIMED_OUT" || s === "CLOSED")) {
        setConnection("reconnecting");
      } else if (all.every((s) => s === "SUBSCRIBED")) setConnection("connected");
      else setConnection("connecting");
    };
  }

  /**
   * Subscribes a channel, counting it in the indicator until it is let go of; `onResumed` when it
   * is subscribed again after it was lost.
   */
  function hold(channel: RealtimeChannel, onResumed: () => void, onStatus?: (status: string) => void) {
    statuses.set(channel, "JOINING");
    const update = track(channel);
    let joined = false;
    let lost = false;
    channel.subscribe((status) => {
      if (!statuses.has(channel)) return; // let go of
      update(status);
      if (status === "SUBSCRIBED") {
        if (joined && lost) onResumed();
        joined = true;
        lost = false;
      } else if (joined) lost = true;
      onStatus?.(status);
    });
    return channel;
  }

  async function letGo(channel: RealtimeChannel) {
    statuses.delete(channel);
    await supabase.removeChannel(channel);
  }

  function emitTyping() {
    const now = Date.now();
    for (const [id, until] of typing) if (until < now) typing.delete(id);
    emit("typing", [...typing.keys()]);
  }

  return {
    async start(user: { id: string; name: string }, accessToken: string) {
      const started = ++generation;
      setConnection("connecting");
      // Private channels authorize with the user's token (RLS on realtime.messages).
      await supabase.realtime.setAuth(accessToken);
      if (started !== generation) return; // stopped (signed out) or started again meanwhile
      me = user;
      const changed = (removed: boolean) => ({ payload }: { payload: unknown }) =>
        handlers.onConversationsChanged({
          conversationId: (payload as { conversationId?: string } | null)?.conversationId,
          removed,
        });
      userChannel = supabase.channel(`user:${user.id}`, { config: { private: true } })
        .on("broadcast", { event: "quota" }, ({ payload }) => handlers.onQuota(payload as QuotaEvent))
        .on("broadcast", { event: "conversation_added" }, changed(false))
        .on("broadcast", { event: "conversation_removed" }, changed(true))
        .on("broadcast", { event: "invitation" }, () => handlers.onInvitation());
      hold(userChannel, () => handlers.onResumed({ conversationId: null }));
      typingTimer = setInterval(emitTyping, 1_000);
    },

    async stop() {
      generation++;
      me = null;
      typingTracked = false;
      clearTimeout(typingIdle);
      clearInterval(typingTimer);
      await this.leave();
      if (userChannel) await letGo(userChannel);
      userChannel = null;
      setConnection("offline");
    },

    /** Joins a conversation's room (leaving the previous one); null leaves. */
    async join(conversationId: string | null) {
      if (conversationId === roomId) return;
      await this.leave();
      if (!conversationId || !me) return;
      roomId = conversationId;
      const self = me;
      const channel = supabase.channel(`conversation:${conversationId}`, {
        config: { private: true, presence: { key: self.id }, broadcast: { self: false } },
      });
      room = channel;
      channel
        .on("presence", { event: "sync" }, () => {
          if (channel !== room) return; // a room I am leaving
          // Keyed by user id; the payload (names included) is whatever the client chose, so the views
          // show only members, named from the member list.
          const present = Object.entries(channel.presenceState<{ typing?: boolean }>())
            .map(([key, metas]) => ({ userId: key, typing: metas.some((m) => m.typing) }));
          emit("presence", present.map(({ userId }) => userId));
          for (const p of present) {
            if (p.userId !== self.id && p.typing) typing.set(p.userId, Date.now() + TYPING_TTL_MS);
          }
          emitTyping();
        })
        .on("broadcast", { event: "typing" }, ({ payload }) => {
          const p = payload as { userId?: unknown; typing?: boolean };
          if (typeof p.userId !== "string" || p.userId === self.id) return;
          if (p.typing === false) typing.delete(p.userId);
          else typing.set(p.userId, Date.now() + TYPING_TTL_MS);
          emitTyping();
        })
        .on("broadcast", { event: "message" }, ({ payload }) => {
          const m = payload as MessageEvent;
          // A stored reply ends that member's typing (a forged event could only do what a `typing`
          // broadcast can anyway).
          if (m.userId) typing.delete(m.userId);
          emitTyping();
          if (m.conversationId === roomId) handlers.onMessage(m);
        })
        .on(
          "broadcast",
          { event: "member_added" },
          ({ payload }) => handlers.onMembersChanged({ ...(payload as { userId: string }), removed: false }),
        )
        .on(
          "broadcast",
          { event: "member_removed" },
          ({ payload }) => handlers.onMembersChanged({ ...(payload as { userId: string }), removed: true }),
        );
      hold(channel, () => {
        if (channel === room) handlers.onResumed({ conversationId });
      }, async (status) => {
        if (status === "SUBSCRIBED" && channel === room) {
          await channel.track({ userId: self.id, displayName: self.name, typing: typingTracked });
        }
      });
    },

    async leave() {
      typingTracked = false;
      clearTimeout(typingIdle);
      typing.clear();
      emitTyping();
      emit("presence", []);
      const channel = room;
      room = null;
      roomId = null;
      if (channel) await letGo(channel);
    },

    /**
     * Tells the room I am typing: a broadcast at most every 2 s (others expire it after 5 s), and my
     * presence's `typing` when it changes (cleared after 5 s without a keystroke).
     */
    typing() {
      if (!room || !me) return;
      clearTimeout(typingIdle);
      typingIdle = setTimeout(() => this.stoppedTyping(), TYPING_TTL_MS);
      if (!typingTracked) {
        typingTracked = true;
        room.track({ userId: me.id, displayName: me.name, typing: true });
      }
      if (Date.now() - lastTypingSent < TYPING_SEND_EVERY_MS) return;
      lastTypingSent = Date.now();
      room.send({
        type: "broadcast",
        event: "typing",
        payload: { userId: me.id, displayName: me.name, typing: true },
      });
    },

    stoppedTyping() {
      clearTimeout(typingIdle);
      if (!room || !me) return;
      if (typingTracked) {
        typingTracked = false;
        room.track({ userId: me.id, displayName: me.name, typing: false });
      }
      if (!lastTypingSent) return;
      lastTypingSent = 0;
      room.send({
        type: "broadcast",
        event: "typing",
        payload: { userId: me.id, displayName: me.name, typing: false },
      });
    },

    refreshAuth(accessToken: string) {
      supabase.realtime.setAuth(accessToken);
    },
  };
}

export type Realtime = ReturnType<typeof createRealtime>;

/** "Ana is typing…", "Ana and Ben are typing…", "Ana, Ben and 2 others are typing…". */
export function typingLine(names: string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  const others = names.length - 2;
  return `${names[0]}, ${names[1]} and ${others} other${others > 1 ? "s" : ""} are typing…`;
}
