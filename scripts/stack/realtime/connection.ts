// One client WebSocket (Phoenix.Socket): heartbeats on the `phoenix` topic, joins, leaves and
// routing of every other message to the channel joined on its topic. Joins are handled one at a
// time per socket, as Phoenix's socket process does; a socket silent for longer than the idle
// timeout is closed (Phoenix's websocket timeout). When the socket goes, its channels go too.

import { Channel, type ChannelHost } from "./channel.ts";
import type { RealtimeContext } from "./context.ts";
import type { Incoming, Outgoing } from "./messages.ts";
import { MalformedMessage, type Serializer } from "./serializer.ts";

export class Connection implements ChannelHost {
  readonly #channels = new Map<string, Channel>();
  #queue: Promise<void> = Promise.resolve();
  #idleTimer?: ReturnType<typeof setTimeout>;
  #open = true;

  constructor(
    private readonly ctx: RealtimeContext,
    private readonly ws: WebSocket,
    readonly serializer: Serializer,
    readonly apiKey: string,
    readonly headers: Record<string, string>,
    private readonly onGone: (c: Connection) => void,
  ) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => this.#receive(e.data);
    ws.onclose = () => this.#gone();
    ws.onerror = () => {};
    this.#resetIdle();
  }

  get open(): boolean {
    return this.#open;
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  send(msg: Outgoing) {
    const frame = this.serializer.encode(msg);
    if (frame !== null) this.sendFrame(frame);
  }

  sendFrame(frame: string | Uint8Array) {
    if (this.#open && this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  detach(channel: Channel) {
    if (this.#channels.get(channel.joinTopic) === channel) this.#channels.delete(channel.joinTopic);
  }

  /** Closes the socket from the server side (shutdown, idle timeout). */
  close(code = 1000, reason = "") {
    if (this.#open && this.ws.readyState <= WebSocket.OPEN) {
      try {
        this.ws.close(code, reason);
      } catch { /* already closing */ }
    }
    this.#gone();
  }

  #receive(data: unknown) {
    this.#resetIdle();
    let msg: Incoming;
    try {
      msg = this.serializer.decode(data as string | ArrayBuffer);
    } catch (e) {
      // RealtimeWeb.Socket logs MalformedWebSocketMessage and keeps the socket open
      if (!(e instanceof MalformedMessage)) console.error("[realtime] cannot decode frame:", e);
      return;
    }
    if (msg.topic === "phoenix" && msg.event === "heartbeat") {
      this.send({ kind: "reply", joinRef: null, ref: msg.ref, topic: "phoenix", status: "ok", response: {} });
      return;
    }
    this.#queue = this.#queue.then(() => this.#route(msg)).catch((e) => {
      console.error(`[realtime] ${msg.topic} ${msg.event}:`, e);
    });
  }

  async #route(msg: Incoming) {
    if (!this.#open) return;
    const existing = this.#channels.get(msg.topic);
    if (msg.event === "phx_join") {
      if (!msg.topic.startsWith("realtime:")) return this.#unmatched(msg);
      // A second join on a topic replaces the channel (Phoenix closes the old one first).
      existing?.end({ notify: true });
      const outcome = await Channel.join(this.ctx, this, msg);
      if (!this.#open) {
        if (outcome.ok) outcome.channel.end({ notify: false });
        return;
      }
      if (outcome.ok) {
        this.#channels.set(msg.topic, outcome.channel);
      } else {
        this.send({
          kind: "reply",
          joinRef: msg.joinRef,
          ref: msg.ref,
          topic: msg.topic,
          status: "error",
          response: { reason: outcome.reason },
        });
      }
      return;
    }
    if (!existing) {
      if (msg.event === "phx_leave") {
        this.send({
          kind: "reply",
          joinRef: msg.joinRef,
          ref: msg.ref,
          topic: msg.topic,
          status: "ok",
          response: {},
        });
        return;
      }
      return this.#unmatched(msg);
    }
    // A message for an earlier join of this topic is stale: dropped.
    if (msg.joinRef !== null && existing.joinRef !== null && msg.joinRef !== existing.joinRef) return;
    existing.enqueue(msg);
  }

  /** Phoenix's answer to a message for a topic it has no channel for. */
  #unmatched(msg: Incoming) {
    this.send({
      kind: "reply",
      joinRef: null,
      ref: msg.ref,
      topic: msg.topic,
      status: "error",
      response: { reason: "unmatched topic" },
    });
  }

  #resetIdle() {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.close(1000, "idle timeout"), this.ctx.limits.idleTimeoutMs);
  }

  #gone() {
    if (!this.#open) return;
    this.#open = false;
    clearTimeout(this.#idleTimer);
    for (const channel of [...this.#channels.values()]) channel.end({ notify: false });
    this.#channels.clear();
    this.onGone(this);
  }
}
