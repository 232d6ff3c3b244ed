// The Realtime stand-in, driven only through the official client (@supabase/supabase-js and its
// realtime-js), as the web app uses Supabase Realtime: broadcast over both protocol versions and
// both frame kinds, presence, private channels authorized by RLS on realtime.messages, database
// broadcasts through realtime.send(), the REST broadcast endpoints, reconnection, token refresh
// and expiry, revoked access, and fan-out to 200 clients.
//
// Private-channel tests use their own topics (`rt-<run>:…`), a membership table and RLS policies
// on realtime.messages created here as postgres and dropped by the last test. Tokens with chosen
// lifetimes are signed with the stack's own key (signing-key.json next to stack.json).

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";
import { importJWK, SignJWT } from "jose";
import { stack } from "../support/stack.ts";
import { closeDatabase, database, newUser, type TestUser } from "../support/users.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const RUN = crypto.randomUUID().slice(0, 8);
const MEMBERS = `rt_test_members_${RUN}`;
const POLICY_READ = `rt_test_read_${RUN}`;
const POLICY_WRITE = `rt_test_write_${RUN}`;

// ---- clients ------------------------------------------------------------------------------------

const clients: SupabaseClient[] = [];

function anon(realtime: Record<string, unknown> = {}): SupabaseClient {
  const c = createClient(stack().apiUrl, stack().anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime,
  });
  clients.push(c);
  return c;
}

function serviceRole(): SupabaseClient {
  const c = createClient(stack().apiUrl, stack().serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  clients.push(c);
  return c;
}

async function user(prefix = "rt"): Promise<TestUser> {
  const u = await newUser(prefix);
  clients.push(u.client);
  return u;
}

/**
 * A client whose access token the test controls, as with supabase-js's `accessToken` option. The
 * token is handed to Realtime before anything subscribes (a join carries the token known then).
 */
async function withToken(initial: string) {
  let token = initial;
  const client = createClient(stack().apiUrl, stack().anonKey, { accessToken: () => Promise.resolve(token) });
  clients.push(client);
  await client.realtime.setAuth();
  return {
    client,
    async setToken(next: string) {
      token = next;
      await client.realtime.setAuth();
    },
  };
}

async function closeAll(list: SupabaseClient[]) {
  await Promise.all(list.map((c) => c.removeAllChannels()));
  for (const c of list) {
    const i = clients.indexOf(c);
    if (i >= 0) clients.splice(i, 1);
  }
}

// ---- channels -----------------------------------------------------------------------------------

interface Watched {
  channel: RealtimeChannel;
  statuses: string[];
  errors: Error[];
  received: { event: string; payload: unknown; meta?: unknown; type: string }[];
  system: Record<string, unknown>[];
  joins: { key: string; newPresences: Record<string, unknown>[] }[];
  leaves: { key: string; leftPresences: Record<string, unknown>[] }[];
  syncs: number;
}

/** Creates a channel that records everything it sees; listens to presence when `presence`. */
function watch(
  client: SupabaseClient,
  topic: string,
  config: Record<string, unknown> = {},
  presence = false,
): Watched {
  const channel = client.channel(topic, { config });
  const w: Watched = {
    channel,
    statuses: [],
    errors: [],
    received: [],
    system: [],
    joins: [],
    leaves: [],
    syncs: 0,
  };
  channel.on("broadcast", { event: "*" }, (m) => w.received.push(m as Watched["received"][number]));
  channel.on("system", {}, (p) => w.system.push(p));
  if (presence) {
    channel
      .on("presence", { event: "sync" }, () => w.syncs++)
      .on("presence", { event: "join" }, (p) => w.joins.push(p))
      .on("presence", { event: "leave" }, (p) => w.leaves.push(p));
  }
  return w;
}

/** Subscribes and resolves with the first final status: SUBSCRIBED, CHANNEL_ERROR or TIMED_OUT. */
function subscribe(w: Watched, onSubscribed?: () => void): Promise<string> {
  return new Promise((resolve) => {
    w.channel.subscribe((status, err) => {
      w.statuses.push(status);
      if (err) w.errors.push(err);
      if (status === "SUBSCRIBED") onSubscribed?.();
      resolve(status);
    });
  });
}

async function joined(w: Watched, onSubscribed?: () => void): Promise<Watched> {
  const status = await subscribe(w, onSubscribed);
  assert.equal(status, "SUBSCRIBED", `${w.channel.topic}: ${w.errors.map((e) => e.message).join("; ")}`);
  return w;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function events(w: Watched, event: string) {
  return w.received.filter((m) => m.event === event);
}

// ---- private topics -----------------------------------------------------------------------------

let policiesReady: Promise<void> | undefined;

/**
 * RLS on realtime.messages for this run's topics: a member listed in the table may read (select)
 * the extensions it is listed for, and write (insert) when can_write.
 */
function ensurePolicies(): Promise<void> {
  policiesReady ??= (async () => {
    const sql = database();
    await sql.unsafe(`
      create table public.${MEMBERS} (
        topic text not null, user_id uuid not null, can_write boolean not null default false,
        extensions text[] not null default '{broadcast,presence}'
      );
      grant select on public.${MEMBERS} to authenticated;
      create policy ${POLICY_READ} on realtime.messages for select to authenticated using (
        exists (select 1 from public.${MEMBERS} m where m.topic = realtime.topic()
          and m.user_id = auth.uid() and realtime.messages.extension = any (m.extensions)));
      create policy ${POLICY_WRITE} on realtime.messages for insert to authenticated with check (
        exists (select 1 from public.${MEMBERS} m where m.topic = realtime.topic()
          and m.user_id = auth.uid() and m.can_write and realtime.messages.extension = any (m.extensions)));
    `);
  })();
  return policiesReady;
}

function privateTopic(name: string): string {
  return `rt-${RUN}:${name}:${crypto.randomUUID().slice(0, 6)}`;
}

async function addMember(
  topic: string,
  u: TestUser,
  canWrite: boolean,
  extensions = ["broadcast", "presence"],
) {
  await ensurePolicies();
  await database().unsafe(
    `insert into public.${MEMBERS} (topic, user_id, can_write, extensions) values ($1, $2, $3, $4)`,
    [topic, u.id, canWrite, extensions],
  );
}

// ---- tokens -------------------------------------------------------------------------------------

let signingKey: Promise<{ key: CryptoKey; kid: string }> | undefined;

/** Signs claims with the stack's key, as its Auth service does. */
function mint(claims: Record<string, unknown>): Promise<string> {
  signingKey ??= (async () => {
    const file = join(
      dirname(Deno.env.get("NEXUS_STACK_FILE") ?? ".local/test/stack.json"),
      "signing-key.json",
    );
    const jwk = JSON.parse(await Deno.readTextFile(file));
    return { key: await importJWK(jwk, "ES256") as CryptoKey, kid: jwk.kid as string };
  })();
  return signingKey.then(({ key, kid }) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid, typ: "JWT" }).sign(key)
  );
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(atob(jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/")));
}

/** The user's own claims with another lifetime: `exp` seconds from now. */
function tokenFor(u: TestUser, expiresIn: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return mint({ ...claimsOf(u.accessToken), iat: now, exp: now + expiresIn });
}

// =================================================================================================

Deno.test({
  name: "broadcast between two clients: JSON and binary frames (vsn 2.0.0), JSON objects (vsn 1.0.0)",
  ...opts,
  fn: async () => {
    const topic = `rt-${RUN}-public-${crypto.randomUUID().slice(0, 6)}`;
    const a = anon(), b = anon(), old = anon({ vsn: "1.0.0" });
    const wa = await joined(watch(a, topic));
    const wb = await joined(watch(b, topic));
    const wo = await joined(watch(old, topic));

    // JSON from a 2.0.0 client (a binary user-broadcast push) reaches both versions
    assert.equal(
      await wa.channel.send({ type: "broadcast", event: "json", payload: { text: "héllo 👋", n: 1 } }),
      "ok",
    );
    await waitFor("JSON broadcast", () => events(wb, "json").length === 1 && events(wo, "json").length === 1);
    assert.deepEqual(events(wb, "json")[0], {
      type: "broadcast",
      event: "json",
      payload: { text: "héllo 👋", n: 1 },
    });
    assert.deepEqual(events(wo, "json")[0], {
      type: "broadcast",
      event: "json",
      payload: { text: "héllo 👋", n: 1 },
    });

    // binary payloads travel as bytes to 2.0.0 clients; 1.0.0 cannot carry them and gets none
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    assert.equal(await wa.channel.send({ type: "broadcast", event: "bin", payload: bytes.buffer }), "ok");
    assert.equal(await wa.channel.send({ type: "broadcast", event: "after-bin", payload: {} }), "ok");
    await waitFor(
      "binary broadcast",
      () => events(wb, "bin").length === 1 && events(wo, "after-bin").length === 1,
    );
    const bin = events(wb, "bin")[0].payload;
    assert.ok(bin instanceof ArrayBuffer, "a binary payload arrives as an ArrayBuffer");
    assert.deepEqual(new Uint8Array(bin), bytes);
    assert.equal(events(wo, "bin").length, 0);

    // a 1.0.0 client's broadcast (a JSON message) reaches a 2.0.0 client
    assert.equal(await wo.channel.send({ type: "broadcast", event: "from-v1", payload: { v: 1 } }), "ok");
    await waitFor("v1 broadcast", () => events(wa, "from-v1").length === 1);
    assert.deepEqual(events(wa, "from-v1")[0].payload, { v: 1 });

    // no client received its own broadcast (self is off by default)
    assert.equal(events(wa, "json").length + events(wa, "bin").length, 0);
    assert.equal(events(wo, "from-v1").length, 0);
    await closeAll([a, b, old]);
  },
});

Deno.test({
  name: "a socket needs one of the project's API keys: another key is refused before any join",
  ...opts,
  fn: async () => {
    const forged = createClient(stack().apiUrl, stack().anonKey.slice(0, -4) + "AAAA", {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    clients.push(forged);
    const w = watch(forged, `rt-${RUN}-refused`);
    assert.equal(await subscribe(w), "CHANNEL_ERROR");
    assert.match(w.errors[0].message, /^channel error: transport failure|^socket closed: 1006/);
    assert.ok(!w.statuses.includes("SUBSCRIBED"));
    await closeAll([forged]);
  },
});

Deno.test({
  name: "broadcast `self` delivers to the sender; channels of other topics hear nothing",
  ...opts,
  fn: async () => {
    const topic = `rt-${RUN}-self-${crypto.randomUUID().slice(0, 6)}`;
    const a = anon(), b = anon(), other = anon();
    const wa = await joined(watch(a, topic, { broadcast: { self: true } }));
    const wb = await joined(watch(b, topic));
    const wOther = await joined(watch(other, `${topic}-elsewhere`));
    const wPrivateSameName = watch(other, topic, { private: true }); // as anon: refused below
    assert.equal(await subscribe(wPrivateSameName), "CHANNEL_ERROR");

    await wa.channel.send({ type: "broadcast", event: "mine", payload: { k: "v" } });
    await waitFor("self broadcast", () => events(wa, "mine").length === 1 && events(wb, "mine").length === 1);
    await wb.channel.send({ type: "broadcast", event: "theirs", payload: {} });
    await waitFor("b's broadcast", () => events(wa, "theirs").length === 1);
    assert.equal(events(wb, "theirs").length, 0, "b has self off");
    assert.equal(wOther.received.length, 0);
    await closeAll([a, b, other]);
  },
});

Deno.test({
  name: "presence: clients see each other join, sync and leave (unsubscribe, socket closed, untrack)",
  ...opts,
  fn: async () => {
    const topic = `rt-${RUN}-presence-${crypto.randomUUID().slice(0, 6)}`;
    const a = anon(), b = anon(), c = anon();
    const wa = await joined(watch(a, topic, { presence: { key: "alice" } }, true));
    const wb = await joined(watch(b, topic, { presence: { key: "bob" } }, true));
    await waitFor("initial presence_state", () => wa.syncs > 0 && wb.syncs > 0);

    assert.equal(await wa.channel.track({ name: "Alice", typing: false }), "ok");
    assert.equal(await wb.channel.track({ name: "Bob" }), "ok");
    await waitFor("both present", () => Object.keys(wa.channel.presenceState()).length === 2);
    await waitFor("b sees both", () => Object.keys(wb.channel.presenceState()).length === 2);
    const seen = wb.channel.presenceState<{ name: string }>();
    assert.equal(seen.alice.length, 1);
    assert.equal(seen.alice[0].name, "Alice");
    assert.equal(typeof seen.alice[0].presence_ref, "string");
    assert.ok(wb.joins.some((j) => j.key === "alice" && j.newPresences[0].name === "Alice"));

    // an update replaces the meta: one entry, the new payload
    assert.equal(await wa.channel.track({ name: "Alice", typing: true }), "ok");
    await waitFor(
      "update",
      () => wb.channel.presenceState<{ typing: boolean }>().alice?.[0]?.typing === true,
    );
    assert.equal(wb.channel.presenceState().alice.length, 1);

    // a third client joins, is seen, then its socket closes: the others see it leave
    const wc = await joined(watch(c, topic, { presence: { key: "carol" } }, true));
    await waitFor(
      "carol's presence_state has the others",
      () => Object.keys(wc.channel.presenceState()).length === 2,
    );
    await wc.channel.track({ name: "Carol" });
    await waitFor("carol seen", () => "carol" in wb.channel.presenceState());
    await c.realtime.disconnect();
    await waitFor("carol leaves on socket close", () => !("carol" in wb.channel.presenceState()));
    assert.ok(wb.leaves.some((l) => l.key === "carol" && l.leftPresences[0].name === "Carol"));

    // untrack: gone from the others' state while still subscribed
    assert.equal(await wb.channel.untrack(), "ok");
    await waitFor("bob untracked", () => !("bob" in wa.channel.presenceState()));

    // unsubscribing leaves too
    assert.equal(await a.removeChannel(wa.channel), "ok");
    await waitFor("alice leaves on unsubscribe", () => !("alice" in wb.channel.presenceState()));
    assert.ok(wb.leaves.some((l) => l.key === "alice"));
    await closeAll([a, b, c]);
  },
});

Deno.test({
  name: "private channel: a member joins; a non-member gets CHANNEL_ERROR with Realtime's reason",
  ...opts,
  fn: async () => {
    const topic = privateTopic("room");
    const member = await user("rt-member");
    const outsider = await user("rt-outsider");
    await addMember(topic, member, true);

    const wm = await joined(watch(member.client, topic, { private: true, broadcast: { ack: true } }));
    const wo = watch(outsider.client, topic, { private: true });
    assert.equal(await subscribe(wo), "CHANNEL_ERROR");
    assert.equal(
      wo.errors[0].message,
      `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`,
    );

    // the anon key is no member either
    const anonymous = anon();
    const wAnon = watch(anonymous, topic, { private: true });
    assert.equal(await subscribe(wAnon), "CHANNEL_ERROR");
    assert.equal(wAnon.errors[0].message, wo.errors[0].message);

    // a public channel of the same name is another channel: neither hears the other
    const pub = anon(), pub2 = anon();
    const wPub = await joined(watch(pub, topic, { broadcast: { ack: true } }));
    const wPub2 = await joined(watch(pub2, topic));
    const member2 = await user("rt-member2");
    await addMember(topic, member2, false);
    const wm2 = await joined(watch(member2.client, topic, { private: true }));
    // acknowledged sends: each fan-out is done before the next message is sent
    assert.equal(await wm.channel.send({ type: "broadcast", event: "secret", payload: {} }), "ok");
    assert.equal(await wPub.channel.send({ type: "broadcast", event: "public", payload: {} }), "ok");
    await waitFor(
      "each side's own message",
      () => events(wm2, "secret").length === 1 && events(wPub2, "public").length === 1,
    );
    assert.deepEqual(wPub2.received.map((m) => m.event), ["public"]);
    assert.deepEqual(wm2.received.map((m) => m.event), ["secret"]);
    await closeAll([member.client, member2.client, outsider.client, anonymous, pub, pub2]);
  },
});

Deno.test({
  name: "private channel: a read-only member receives but cannot broadcast (no ack) nor track presence",
  ...opts,
  fn: async () => {
    const topic = privateTopic("readonly");
    const writer = await user("rt-writer");
    const reader = await user("rt-reader");
    await addMember(topic, writer, true);
    await addMember(topic, reader, false);

    const ww = await joined(
      watch(writer.client, topic, { private: true, broadcast: { self: true, ack: true } }, true),
    );
    const wr = await joined(watch(reader.client, topic, { private: true, broadcast: { ack: true } }, true));

    assert.equal(
      await ww.channel.send({ type: "broadcast", event: "note", payload: { from: "writer" } }),
      "ok",
    );
    await waitFor("reader receives", () => events(wr, "note").length === 1);

    // Realtime drops an unauthorized broadcast without acknowledging it
    assert.equal(
      await wr.channel.send({ type: "broadcast", event: "note", payload: { from: "reader" } }, {
        timeout: 1000,
      }),
      "timed out",
    );
    assert.equal(await ww.channel.send({ type: "broadcast", event: "marker", payload: {} }), "ok");
    await waitFor("marker", () => events(ww, "marker").length === 1);
    assert.deepEqual(events(ww, "note").map((m) => m.payload), [{ from: "writer" }]);

    assert.equal(await wr.channel.track({ who: "reader" }), "error");
    assert.equal(await ww.channel.track({ who: "writer" }), "ok");
    await waitFor(
      "reader sees the writer's presence",
      () => Object.keys(wr.channel.presenceState()).length === 1,
    );
    await closeAll([writer.client, reader.client]);
  },
});

Deno.test({
  name: "realtime.send() from SQL reaches subscribed, authorized clients; rolled back sends do not",
  ...opts,
  fn: async () => {
    const topic = privateTopic("db");
    const member = await user("rt-db");
    await addMember(topic, member, false);
    // replication_ready: a `system` notice once database broadcasts flow, as Realtime sends it
    const wm = await joined(
      watch(member.client, topic, { private: true, broadcast: { replication_ready: true } }),
    );
    await waitFor("replication ready", () => wm.system.length === 1);
    assert.deepEqual(wm.system[0], {
      extension: "system",
      status: "ok",
      message: "Replication connection established",
      channel: topic,
    });
    const pub = anon();
    const wp = await joined(watch(pub, topic)); // the public channel of the same name
    const sql = database();

    // Rolled back: a transaction still open while another commits, then rolled back; and a
    // savepoint rolled back inside a transaction that commits.
    const open = await sql.reserve();
    try {
      await open`begin`;
      await open`select realtime.send(${open.json({ n: 0 })}, 'rolled-back', ${topic}, true)`;
      await sql.begin(async (tx) => {
        await tx`savepoint undone`;
        await tx`select realtime.send(${tx.json({ n: -1 })}, 'rolled-back', ${topic}, true)`;
        await tx`rollback to savepoint undone`;
        await tx`select realtime.send(${tx.json({ n: 1, text: "stored" })}, 'message', ${topic}, true)`;
      });
      await open`rollback`;
    } finally {
      open.release();
    }
    await waitFor("database broadcast", () => events(wm, "message").length === 1);
    const [row] = await sql`select id from realtime.messages where topic = ${topic} and event = 'message'`;
    assert.deepEqual(events(wm, "message")[0], {
      type: "broadcast",
      event: "message",
      payload: { n: 1, text: "stored", id: row.id }, // realtime.send adds the message's id, as Supabase's does
      meta: { id: row.id },
    });

    // Large, and incompressible so that Postgres stores it out of line (TOAST): it arrives whole.
    const random = crypto.getRandomValues(new Uint8Array(64_000));
    const big = {
      hex: Array.from(random, (b) => b.toString(16).padStart(2, "0")).join(""),
      text: "é✓🙂".repeat(1000),
    };
    await sql`select realtime.send(${sql.json(big)}, 'big', ${topic}, true)`;
    await waitFor("large database broadcast", () => events(wm, "big").length === 1);
    const [bigEvent] = events(wm, "big") as unknown as { payload: unknown; meta: { id: string } }[];
    assert.deepEqual(bigEvent.payload, { ...big, id: bigEvent.meta.id });
    // the rolled-back rows never came, though rows committed after them did
    assert.equal(events(wm, "rolled-back").length, 0);

    // private = false goes to the public channel, and only there
    await sql`select realtime.send(${sql.json({ n: 2 })}, 'public-message', ${topic}, false)`;
    await waitFor("public database broadcast", () => events(wp, "public-message").length === 1);
    assert.equal(events(wp, "message").length, 0);
    assert.equal(events(wm, "public-message").length, 0);

    // postgres_changes is not served: the join still succeeds (the bindings are echoed with ids,
    // as Realtime does) and a `system` error says so
    const changes = anon();
    const wc = watch(changes, `rt-${RUN}-changes`);
    wc.channel.on("postgres_changes", { event: "*", schema: "public", table: "profiles" }, () => {});
    await joined(wc);
    await waitFor("postgres_changes notice", () => wc.system.length === 1);
    assert.equal(wc.system[0].extension, "postgres_changes");
    assert.equal(wc.system[0].status, "error");
    await closeAll([member.client, pub, changes]);
  },
});

Deno.test({
  name: "REST broadcast: httpSend and send() before subscribing (batch endpoint), authorized like a socket",
  ...opts,
  fn: async () => {
    const topic = privateTopic("rest");
    const member = await user("rt-rest");
    const outsider = await user("rt-rest-out");
    await addMember(topic, member, true);
    const wm = await joined(watch(member.client, topic, { private: true }));
    const publicTopic = `rt-${RUN}-rest-${crypto.randomUUID().slice(0, 6)}`;
    const listener = anon();
    const wl = await joined(watch(listener, publicTopic));

    // single endpoint (httpSend): JSON and binary to a public channel
    const sender = anon();
    const out = sender.channel(publicTopic);
    assert.deepEqual(await out.httpSend("rest-json", { via: "httpSend" }), { success: true });
    assert.deepEqual(await out.httpSend("rest-bin", new Uint8Array([9, 8, 7])), { success: true });
    await waitFor(
      "httpSend",
      () => events(wl, "rest-json").length === 1 && events(wl, "rest-bin").length === 1,
    );
    assert.deepEqual(events(wl, "rest-json")[0].payload, { via: "httpSend" });
    assert.deepEqual(
      new Uint8Array(events(wl, "rest-bin")[0].payload as ArrayBuffer),
      new Uint8Array([9, 8, 7]),
    );

    // private: the member may, an outsider may not (403 Unauthorized)
    const mine = member.client.channel(`${topic}`, { config: { private: true } });
    assert.deepEqual(await mine.httpSend("member-http", { ok: 1 }), { success: true });
    await waitFor("member's httpSend", () => events(wm, "member-http").length === 1);
    const theirs = outsider.client.channel(topic, { config: { private: true } });
    await assert.rejects(theirs.httpSend("outsider-http", {}), /Unauthorized/);

    // batch endpoint (send() on a channel not joined falls back to it): service_role may send
    // to any private topic; an outsider's private message is skipped
    const service = serviceRole();
    assert.equal(
      await service.channel(topic, { config: { private: true } }).send({
        type: "broadcast",
        event: "from-service",
        payload: { s: 1 },
      }),
      "ok",
    );
    assert.equal(
      await outsider.client.channel(topic, { config: { private: true } }).send({
        type: "broadcast",
        event: "from-outsider",
        payload: {},
      }),
      "ok",
    );
    assert.equal(
      await service.channel(publicTopic).send({ type: "broadcast", event: "batch", payload: { b: 1 } }),
      "ok",
    );
    await waitFor(
      "service broadcasts",
      () => events(wm, "from-service").length === 1 && events(wl, "batch").length === 1,
    );
    assert.deepEqual(events(wm, "from-service")[0], {
      type: "broadcast",
      event: "from-service",
      payload: { s: 1 },
    });
    assert.equal(events(wm, "from-outsider").length, 0);
    await closeAll([member.client, outsider.client, listener, sender, service]);
  },
});

Deno.test({
  name: "heartbeats are answered; a killed socket reconnects, rejoins and its presence comes back",
  ...opts,
  fn: async () => {
    const topic = `rt-${RUN}-heartbeat-${crypto.randomUUID().slice(0, 6)}`;
    const beats: string[] = [];
    const a = anon({ heartbeatIntervalMs: 200, heartbeatCallback: (s: string) => beats.push(s) });
    const b = anon();
    const wb = await joined(watch(b, topic, { presence: { key: "watcher" } }, true));
    const wa = watch(a, topic, { presence: { key: "phoenix" } }, true);
    // the app's usual pattern: (re)track whenever the channel is (re)subscribed
    await joined(wa, () => void wa.channel.track({ state: "online" }));
    await waitFor("heartbeat ok", () => beats.includes("ok"));
    await waitFor("seen", () => "phoenix" in wb.channel.presenceState());

    // the connection drops (not a client disconnect): the server untracks, the client reconnects
    const socket = (a.realtime as unknown as { socketAdapter: { getSocket(): { conn: WebSocket } } })
      .socketAdapter.getSocket();
    socket.conn.close();
    await waitFor("leave after the drop", () => wb.leaves.some((l) => l.key === "phoenix"));
    await waitFor("rejoined", () => wa.statuses.filter((s) => s === "SUBSCRIBED").length === 2, 15_000);
    await waitFor("presence restored", () => wb.channel.presenceState().phoenix?.length === 1);
    assert.ok(wa.statuses.includes("CHANNEL_ERROR"), "the drop errored the channel before it rejoined");
    await closeAll([a, b]);
  },
});

Deno.test({
  name: "token refresh (setAuth) keeps the channel past the first token's expiry",
  ...opts,
  fn: async () => {
    const topic = privateTopic("refresh");
    const u = await user("rt-refresh");
    await addMember(topic, u, true);
    const short = await tokenFor(u, 3);
    const { client, setToken } = await withToken(short);
    const w = await joined(watch(client, topic, { private: true, broadcast: { self: true } }));

    await setToken(await tokenFor(u, 3600));
    const firstExp = claimsOf(short).exp as number;
    await waitFor("the first token expired", () => Date.now() / 1000 > firstExp + 1.5, 10_000);
    assert.equal(await w.channel.send({ type: "broadcast", event: "still-here", payload: {} }), "ok");
    await waitFor("broadcast after refresh", () => events(w, "still-here").length === 1);
    assert.deepEqual(w.system, []);
    assert.ok(!w.statuses.includes("CLOSED"));
    await closeAll([client]);
  },
});

Deno.test({
  name: "an expired token closes the channel with a system error; an expired token cannot join",
  ...opts,
  fn: async () => {
    const topic = `rt-${RUN}-expiry-${crypto.randomUUID().slice(0, 6)}`;
    const u = await user("rt-expiry");
    const { client } = await withToken(await tokenFor(u, 2));
    const w = await joined(watch(client, topic));
    await waitFor("closed at expiry", () => w.statuses.includes("CLOSED"), 10_000);
    assert.equal(w.system.length, 1);
    assert.equal(w.system[0].extension, "system");
    assert.equal(w.system[0].status, "error");
    assert.equal(w.system[0].channel, topic);
    assert.match(String(w.system[0].message), /^Token has expired \d+ seconds ago$/);

    const expired = await withToken(await tokenFor(u, -30));
    const we = watch(expired.client, topic);
    assert.equal(await subscribe(we), "CHANNEL_ERROR");
    assert.match(we.errors[0].message, /^InvalidJWTToken: Token has expired (30|31|32) seconds ago$/);

    const forged = await withToken((await tokenFor(u, 60)).slice(0, -4) + "AAAA");
    const wf = watch(forged.client, topic);
    assert.equal(await subscribe(wf), "CHANNEL_ERROR");
    assert.equal(wf.errors[0].message, "JwtSignatureError: Failed to validate JWT signature");
    await closeAll([client, expired.client, forged.client]);
  },
});

Deno.test({
  name: "revoked access: after a token refresh the channel closes with Realtime's system error",
  ...opts,
  fn: async () => {
    const sql = database();
    // read revoked entirely (removed from the conversation)
    const topic = privateTopic("revoke");
    const u = await user("rt-revoke");
    await addMember(topic, u, true);
    const { client, setToken } = await withToken(await tokenFor(u, 3600));
    const w = await joined(watch(client, topic, { private: true }));
    await sql.unsafe(`delete from public.${MEMBERS} where topic = $1`, [topic]);
    await setToken(await tokenFor(u, 3601));
    await waitFor("closed", () => w.statuses.includes("CLOSED"));
    assert.deepEqual(w.system, [{
      extension: "system",
      status: "error",
      message: `You do not have permissions to read from this Channel topic: ${topic}`,
      channel: topic,
    }]);

    // broadcast read revoked while presence read stays
    const topic2 = privateTopic("revoke-broadcast");
    const u2 = await user("rt-revoke2");
    await addMember(topic2, u2, true);
    const second = await withToken(await tokenFor(u2, 3600));
    const w2 = await joined(watch(second.client, topic2, { private: true }, true));
    await sql.unsafe(`update public.${MEMBERS} set extensions = '{presence}' where topic = $1`, [topic2]);
    await second.setToken(await tokenFor(u2, 3601));
    await waitFor("closed", () => w2.statuses.includes("CLOSED"));
    assert.equal(
      w2.system[0]?.message,
      `You no longer have permission to read from this Channel topic: ${topic2}`,
    );

    // a refresh that keeps access keeps the channel
    const topic3 = privateTopic("kept");
    const u3 = await user("rt-kept");
    await addMember(topic3, u3, true);
    const third = await withToken(await tokenFor(u3, 3600));
    const w3 = await joined(
      watch(third.client, topic3, { private: true, broadcast: { self: true, ack: true } }),
    );
    await third.setToken(await tokenFor(u3, 3601));
    assert.equal(await w3.channel.send({ type: "broadcast", event: "kept", payload: {} }), "ok");
    await waitFor("still delivering", () => events(w3, "kept").length === 1);
    assert.deepEqual(w3.system, []);
    await closeAll([client, second.client, third.client]);
  },
});

Deno.test({
  name: "200 clients in one channel all receive one broadcast",
  ...opts,
  fn: async () => {
    const topic = `rt-${RUN}-fanout-${crypto.randomUUID().slice(0, 6)}`;
    const listeners: SupabaseClient[] = [];
    const watched: Watched[] = [];
    try {
      for (let batch = 0; batch < 4; batch++) {
        const group = Array.from({ length: 50 }, () => anon());
        listeners.push(...group);
        watched.push(...await Promise.all(group.map((c) => joined(watch(c, topic)))));
      }
      const sender = anon();
      listeners.push(sender);
      const ws = await joined(watch(sender, topic));
      const sentAt = Date.now();
      assert.equal(await ws.channel.send({ type: "broadcast", event: "all", payload: { sentAt } }), "ok");
      await waitFor("all 200 received", () => watched.every((w) => events(w, "all").length === 1), 15_000);
      for (const w of watched) assert.deepEqual(events(w, "all")[0].payload, { sentAt });
    } finally {
      for (let i = 0; i < listeners.length; i += 50) await closeAll(listeners.slice(i, i + 50));
    }
  },
});

Deno.test({
  name: "cleanup: test policies and clients",
  ...opts,
  fn: async () => {
    await closeAll([...clients]);
    if (policiesReady) {
      await policiesReady;
      await database().unsafe(`
        drop policy if exists ${POLICY_READ} on realtime.messages;
        drop policy if exists ${POLICY_WRITE} on realtime.messages;
        drop table if exists public.${MEMBERS};
        delete from realtime.messages where topic like 'rt-${RUN}%';
      `);
    }
    await closeDatabase();
  },
});
