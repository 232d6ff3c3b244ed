// The product's Realtime channels (DESIGN.md §7) through supabase-js: conversation:<id> for its
// members (presence, typing, `message` events naming each stored message, which members then read
// by id under RLS), user:<id> for its user (`quota` events after each settled request), and a
// removed member losing the channel, and learning no message's content while he still has it.

import assert from "node:assert/strict";
import type { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js";
import { closeDatabase, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { share } from "../support/sharing.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const TIMEOUT = 15_000;

function until<T>(what: string, check: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT);
    check((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Resolves once `check` holds (looked at every 20 ms), or fails after TIMEOUT naming `what`. */
function eventually(what: string, check: () => unknown): Promise<true> {
  return until(what, (done) => {
    const timer = setInterval(() => check() && (clearInterval(timer), done(true)), 20);
  });
}

async function join(user: TestUser, topic: string, setup: (channel: RealtimeChannel) => void = () => {}) {
  const client: SupabaseClient = user.client;
  await client.realtime.setAuth(user.accessToken);
  const channel = client.channel(topic, {
    config: { private: true, presence: { key: user.id, enabled: true } },
  });
  channel.on("presence", { event: "sync" }, () => {});
  setup(channel);
  const status = await until<string>(`${topic} to answer`, (done) =>
    channel.subscribe((s, err) => {
      if (s === "SUBSCRIBED") done(s);
      if (s === "CHANNEL_ERROR") done(`${s}: ${err?.message ?? ""}`);
    }));
  return { channel, status };
}

async function chat(user: TestUser, body: Record<string, unknown>) {
  const res = await fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", stream: false, ...body }),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

/** GET /conversations/:id/messages/:messageId as `user`: the status, and the message if 200. */
async function storedMessage(user: TestUser, conversationId: string, messageId: string) {
  const res = await fetch(functionsUrl(`conversations/${conversationId}/messages/${messageId}`), {
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  return { status: res.status, body: await res.json() };
}

interface MessageEvent {
  id: string;
  conversationId: string;
  userId: string;
  role: string;
  createdAt: string;
}

async function unshare(owner: TestUser, conversationId: string, userId: string) {
  const res = await fetch(functionsUrl(`conversations/${conversationId}/members/${userId}`), {
    method: "DELETE",
    headers: { authorization: `Bearer ${owner.accessToken}` },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
}

Deno.test({
  name: "members share a conversation channel: presence, typing, and each stored message live",
  ...opts,
  fn: async () => {
    const ana = await newUser("ana");
    const ben = await newUser("ben");
    const eve = await newUser("eve");
    const { conversationId } = await chat(ana, { messages: [{ role: "user", content: "Plan the offsite" }] });
    await share(ana, conversationId, ben);
    const topic = `conversation:${conversationId}`;
    const clients = [ana, ben, eve];
    try {
      const typing: unknown[] = [];
      const messages: MessageEvent[] = [];
      const a = await join(ana, topic, (ch) => {
        ch.on("broadcast", { event: "typing" }, ({ payload }) => typing.push(payload));
        ch.on("broadcast", { event: "message" }, ({ payload }) => messages.push(payload));
      });
      const b = await join(ben, topic);
      assert.equal(a.status, "SUBSCRIBED");
      assert.equal(b.status, "SUBSCRIBED");

      await a.channel.track({ userId: ana.id, displayName: "Ana", typing: false });
      await b.channel.track({ userId: ben.id, displayName: "Ben", typing: true });
      await eventually("both present", () => Object.keys(a.channel.presenceState()).length === 2);
      assert.deepEqual(Object.keys(a.channel.presenceState()).sort(), [ana.id, ben.id].sort());
      const benMeta = a.channel.presenceState()[ben.id][0] as unknown as {
        displayName: string;
        typing: boolean;
      };
      assert.equal(benMeta.displayName, "Ben");
      assert.equal(benMeta.typing, true);

      await b.channel.send({
        type: "broadcast",
        event: "typing",
        payload: { userId: ben.id, displayName: "Ben" },
      });
      await eventually("Ben's typing event", () => typing.length);

      // Ben asks in the shared conversation: Ana is told of his message and of the reply, by id
      // only, and reads each (with the reply's cost) as herself.
      const reply = await chat(ben, {
        messages: [{ role: "user", content: "What about Lisbon?" }],
        conversationId,
      });
      await eventually("the stored reply", () => messages.some((m) => m.role === "assistant"));
      assert.equal(messages.length, 2, JSON.stringify(messages));
      for (const m of messages) {
        assert.deepEqual(Object.keys(m).sort(), ["conversationId", "createdAt", "id", "role", "userId"]);
        assert.equal(m.conversationId, conversationId);
        assert.equal(m.userId, ben.id);
      }
      const user = messages.find((m) => m.role === "user")!;
      const question = await storedMessage(ana, conversationId, user.id);
      assert.equal(question.status, 200);
      assert.equal(question.body.content, "What about Lisbon?");
      assert.equal(question.body.userId, ben.id);
      const assistant = messages.find((m) => m.role === "assistant")!;
      assert.equal(assistant.id, reply.messageId);
      const answer = await storedMessage(ana, conversationId, assistant.id);
      assert.equal(answer.body.content, reply.content);
      assert.equal(answer.body.cost, reply.cost);

      // Eve is not a member: refused.
      const e = await join(eve, topic);
      assert.match(e.status, /^CHANNEL_ERROR: Unauthorized/);
      await settled(ben.id);
    } finally {
      for (const c of clients) await c.client.removeAllChannels();
    }
  },
});

Deno.test({
  name: "user:<id> delivers quota events after each request to its user, and refuses anyone else",
  ...opts,
  fn: async () => {
    const ana = await newUser("quota");
    const mallory = await newUser("mallory");
    try {
      const quota: {
        quota: { monthRemaining: number; tier: string };
        cost: number;
        totals: { total: number };
      }[] = [];
      const mine = await join(
        ana,
        `user:${ana.id}`,
        (ch) => ch.on("broadcast", { event: "quota" }, ({ payload }) => quota.push(payload)),
      );
      assert.equal(mine.status, "SUBSCRIBED");
      const answer = await chat(ana, { messages: [{ role: "user", content: "count me" }] });
      await eventually("the quota event", () => quota.length);
      assert.equal(quota[0].quota.tier, "free");
      assert.equal(quota[0].quota.monthRemaining, 99);
      assert.equal(quota[0].cost, answer.cost);
      assert.equal(quota[0].totals.total, answer.cost);
      assert.equal(
        (quota[0].totals as unknown as { session: number }).session,
        answer.cost,
        "this session's cost",
      );

      const theirs = await join(mallory, `user:${ana.id}`);
      assert.match(theirs.status, /^CHANNEL_ERROR: Unauthorized/);
      await settled(ana.id);
    } finally {
      await ana.client.removeAllChannels();
      await mallory.client.removeAllChannels();
    }
  },
});

Deno.test({
  name: "a removed member is told at once and loses the channel when the token is next checked",
  ...opts,
  fn: async () => {
    const ana = await newUser("owner");
    const ben = await newUser("removed");
    const { conversationId } = await chat(ana, {
      messages: [{ role: "user", content: "short-lived share" }],
    });
    await share(ana, conversationId, ben);
    try {
      const removedEvents: { userId: string }[] = [];
      const system: { status: string; message: string }[] = [];
      const b = await join(ben, `conversation:${conversationId}`, (ch) => {
        ch.on("broadcast", { event: "member_removed" }, ({ payload }) => removedEvents.push(payload));
        ch.on("system", {}, (payload) => system.push(payload));
      });
      assert.equal(b.status, "SUBSCRIBED");
      await unshare(ana, conversationId, ben.id);
      await eventually("the member_removed event", () => removedEvents.length);
      assert.equal(removedEvents[0].userId, ben.id);

      // Ben's client refreshes its token: the server re-checks access and closes the channel.
      const { data } = await ben.client.auth.signInWithPassword({ email: ben.email, password: ben.password });
      b.channel.on("system", {}, () => {});
      const closing = eventually("the channel to close", () => b.channel.state === "closed");
      await ben.client.realtime.setAuth(data.session!.access_token);
      await closing;
      assert.ok(
        system.some((s) => s.status === "error" && /permission/i.test(s.message)),
        JSON.stringify(system),
      );
    } finally {
      await ana.client.removeAllChannels();
      await ben.client.removeAllChannels();
    }
  },
});

Deno.test({
  name: "a removed member whose token is not yet re-checked still hears of messages, but not what they say",
  ...opts,
  fn: async () => {
    const ana = await newUser("stays");
    const ben = await newUser("gone");
    const { conversationId } = await chat(ana, {
      messages: [{ role: "user", content: "before the removal" }],
    });
    await share(ana, conversationId, ben);
    try {
      const heard: MessageEvent[] = [];
      let removed = false;
      const b = await join(ben, `conversation:${conversationId}`, (ch) => {
        ch.on("broadcast", { event: "message" }, ({ payload }) => heard.push(payload));
        ch.on("broadcast", { event: "member_removed" }, () => removed = true);
      });
      assert.equal(b.status, "SUBSCRIBED");
      await unshare(ana, conversationId, ben.id);
      await eventually("the member_removed event", () => removed);

      // Ana goes on. Ben's client ignores the removal and keeps its token: the channel still
      // delivers (Realtime re-authorizes on a token's refresh), but only which messages were stored.
      const secret = `after the removal ${crypto.randomUUID()}`;
      const reply = await chat(ana, { messages: [{ role: "user", content: secret }], conversationId });
      await eventually("both events to reach Ben", () => heard.length >= 2);
      assert.equal(b.channel.state, "joined", "Ben still has the channel");
      assert.deepEqual(heard.map((m) => m.role).sort(), ["assistant", "user"]);
      for (const m of heard) {
        assert.deepEqual(Object.keys(m).sort(), ["conversationId", "createdAt", "id", "role", "userId"]);
        assert.ok(!JSON.stringify(m).includes(secret), JSON.stringify(m));
      }
      assert.ok(heard.some((m) => m.id === reply.messageId), "the events name the stored messages");

      // Reading them is up to RLS: Ana reads each; Ben, no longer a member, finds nothing.
      for (const m of heard) {
        const mine = await storedMessage(ana, conversationId, m.id);
        assert.equal(mine.status, 200);
        assert.equal(mine.body.content, m.role === "user" ? secret : reply.content);
        const his = await storedMessage(ben, conversationId, m.id);
        assert.equal(his.status, 404);
        assert.equal(his.body.error.code, "not_found");
        assert.ok(!JSON.stringify(his.body).includes(secret));
      }
      await settled(ana.id);
    } finally {
      await ana.client.removeAllChannels();
      await ben.client.removeAllChannels();
    }
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
