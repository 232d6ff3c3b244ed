// /conversations: my conversations, their history, renaming and deleting, and sharing with
// another user by email (members read and chat; removing a member revokes access at once).

import assert from "node:assert/strict";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { share } from "../support/sharing.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function call(user: TestUser, path: string, init: RequestInit = {}) {
  return fetch(functionsUrl(`conversations${path}`), {
    ...init,
    headers: {
      authorization: `Bearer ${user.accessToken}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
}

async function chat(user: TestUser, conversationId: string, content: string) {
  const res = await fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content }],
      conversationId,
      stream: false,
      model: "gpt-4o-mini",
    }),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test({
  name: "create, list, rename and delete my conversations",
  ...opts,
  fn: async () => {
    const ana = await newUser("ana");
    const created = await call(ana, "", { method: "POST", body: JSON.stringify({ title: "Trip plans" }) });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("x-user-tier"), "free");
    const conversation = await created.json();
    assert.equal(conversation.title, "Trip plans");
    assert.equal(conversation.role, "owner");

    const listed = await (await call(ana, "")).json();
    assert.deepEqual(listed.data.map((c: { id: string }) => c.id), [conversation.id]);

    const renamed = await call(ana, `/${conversation.id}`, {
      method: "PATCH",
      body: JSON.stringify({ title: "Lisbon trip" }),
    });
    assert.equal(renamed.status, 200);
    assert.equal((await renamed.json()).title, "Lisbon trip");

    for (
      const [path, init, status] of [
        ["", { method: "POST", body: JSON.stringify({ title: "" }) }, 400],
        ["", { method: "POST", body: JSON.stringify({ owner: "someone" }) }, 400],
        [`/${conversation.id}`, { method: "PATCH", body: "{}" }, 400],
        ["/not-a-uuid/messages", {}, 404],
        [`/${crypto.randomUUID()}/messages`, {}, 404],
      ] as [string, RequestInit, number][]
    ) {
      const res = await call(ana, path, init);
      assert.equal(res.status, status, `${init.method ?? "GET"} ${path}`);
      await res.body?.cancel();
    }

    const deleted = await call(ana, `/${conversation.id}`, { method: "DELETE" });
    assert.equal(deleted.status, 200);
    await deleted.body?.cancel();
    assert.deepEqual((await (await call(ana, "")).json()).data, []);
  },
});

Deno.test({
  name:
    "sharing by email: the member reads the history and chats; a stranger cannot; removal revokes at once",
  ...opts,
  fn: async () => {
    const owner = await newUser("owner");
    const member = await newUser("member");
    const stranger = await newUser("stranger");
    const first = await chat(owner, undefined as unknown as string, "Let's plan the launch");
    assert.equal(first.status, 200);
    const id = first.body.conversationId;

    // Only the owner shares, and only by invitation.
    const byStranger = await call(stranger, `/${id}/members`, {
      method: "POST",
      body: JSON.stringify({ email: member.email }),
    });
    assert.equal(byStranger.status, 404, "a stranger does not even see the conversation");
    await byStranger.body?.cancel();
    const badEmail = await call(owner, `/${id}/members`, {
      method: "POST",
      body: JSON.stringify({ email: "not an email" }),
    });
    assert.equal(badEmail.status, 400);
    await badEmail.body?.cancel();

    const invited = await call(owner, `/${id}/members`, {
      method: "POST",
      body: JSON.stringify({ email: member.email.toUpperCase() }),
    });
    assert.equal(invited.status, 201);
    const invitation = await invited.json();
    assert.equal(invitation.email, member.email.toLowerCase());
    assert.equal(invitation.status, "invited");
    const notYet = await call(member, `/${id}/messages`);
    assert.equal(notYet.status, 404, "an invitation is not membership");
    await notYet.body?.cancel();
    const stolen = await call(stranger, `/invitations/${invitation.id}/accept`, { method: "POST" });
    assert.equal(stolen.status, 404, "nobody else can accept it");
    await stolen.body?.cancel();
    const accepted = await call(member, `/invitations/${invitation.id}/accept`, { method: "POST" });
    assert.equal(accepted.status, 200);
    const joined = await accepted.json();
    assert.equal(joined.id, id);
    assert.equal(joined.role, "member");
    const used = await call(member, `/invitations/${invitation.id}/accept`, { method: "POST" });
    assert.equal(used.status, 404, "an invitation is used once");
    await used.body?.cancel();
    const again = await call(member, `/${id}/members`, {
      method: "POST",
      body: JSON.stringify({ email: stranger.email }),
    });
    assert.equal(again.status, 403, "a member cannot share further");
    await again.body?.cancel();

    const history = await (await call(member, `/${id}/messages`)).json();
    assert.deepEqual(history.messages.map((m: { role: string }) => m.role), ["user", "assistant"]);
    assert.equal(history.messages[0].content, "Let's plan the launch");
    assert.equal(typeof history.messages[1].cost, "number");
    assert.equal(history.messages[1].model, "gpt-4o-mini");
    assert.deepEqual(history.members.map((m: { role: string }) => m.role).sort(), ["member", "owner"]);
    assert.ok(
      (await (await call(member, "")).json()).data.some((c: { id: string; role: string }) =>
        c.id === id && c.role === "member"
      ),
    );

    const reply = await chat(member, id, "I'll draft the announcement");
    assert.equal(reply.status, 200, "members chat in the shared conversation");
    await settled(member.id);
    const rows =
      await database()`select user_id from public.messages where conversation_id = ${id} and role = 'user' order by created_at`;
    assert.deepEqual(rows.map((r) => r.user_id), [owner.id, member.id]);

    const strangerRead = await call(stranger, `/${id}/messages`);
    assert.equal(strangerRead.status, 404);
    await strangerRead.body?.cancel();
    assert.equal((await chat(stranger, id, "let me in")).status, 404);

    const ownerOut = await call(owner, `/${id}/members/${owner.id}`, { method: "DELETE" });
    assert.equal(ownerOut.status, 404, "the owner cannot be removed");
    await ownerOut.body?.cancel();
    const removed = await call(owner, `/${id}/members/${member.id}`, { method: "DELETE" });
    assert.equal(removed.status, 200);
    await removed.body?.cancel();
    const after = await call(member, `/${id}/messages`);
    assert.equal(after.status, 404, "access revoked at once");
    await after.body?.cancel();
    assert.equal((await chat(member, id, "still here?")).status, 404);
  },
});

Deno.test({
  name:
    "members see each other's names, avatars and emails (GET /:id/members, and with the history); others nothing",
  ...opts,
  fn: async () => {
    const owner = await newUser("names-owner");
    const member = await newUser("names-member");
    const stranger = await newUser("names-stranger");
    const profile = (user: TestUser, body: Record<string, unknown>) =>
      fetch(functionsUrl("account"), {
        method: "PATCH",
        headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.body?.cancel());
    await profile(owner, { displayName: "Olga Owner", avatarUrl: "https://example.test/olga.png" });
    await profile(member, { displayName: "Max Member" });
    const { id } = await (await call(owner, "", { method: "POST", body: JSON.stringify({ title: "Names" }) }))
      .json();
    await share(owner, id, member);

    const expected = [
      {
        userId: owner.id,
        email: owner.email,
        displayName: "Olga Owner",
        avatarUrl: "https://example.test/olga.png",
        role: "owner",
      },
      { userId: member.id, email: member.email, displayName: "Max Member", avatarUrl: null, role: "member" },
    ];
    const withoutTimes = (members: { joinedAt: string }[]) =>
      members.map(({ joinedAt, ...rest }) => {
        assert.ok(!Number.isNaN(Date.parse(joinedAt)), `joinedAt ${joinedAt}`);
        return rest;
      });
    for (const reader of [member, owner]) {
      const res = await call(reader, `/${id}/members`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-user-tier"), "free");
      const body = await res.json();
      assert.equal(body.conversationId, id);
      assert.deepEqual(withoutTimes(body.members), expected, "each member's name, not just the reader's");
      const history = await (await call(reader, `/${id}/messages`)).json();
      assert.deepEqual(withoutTimes(history.members), expected, "the history names them too");
    }

    for (
      const [who, path] of [[stranger, `/${id}/members`], [owner, `/${crypto.randomUUID()}/members`]] as const
    ) {
      const res = await call(who, path);
      assert.equal(res.status, 404, `${path}: not visible`);
      assert.equal((await res.json()).error.code, "not_found");
    }

    const removed = await call(owner, `/${id}/members/${member.id}`, { method: "DELETE" });
    assert.equal(removed.status, 200);
    await removed.body?.cancel();
    const after = await call(member, `/${id}/members`);
    assert.equal(after.status, 404, "a removed member no longer sees who is in it");
    await after.body?.cancel();
  },
});

Deno.test({
  name: "regenerating an answer stores the new answer, not the user's turn again",
  ...opts,
  fn: async () => {
    const user = await newUser("regen");
    const first = await chat(user, undefined as unknown as string, "Name three rivers");
    const id = first.body.conversationId;
    const res = await fetch(functionsUrl("chat"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: "Name three rivers" }],
        conversationId: id,
        stream: false,
        model: "gpt-4o-mini",
        regenerate: true,
      }),
    });
    assert.equal(res.status, 200);
    await res.json();
    await settled(user.id);
    const rows =
      await database()`select role from public.messages where conversation_id = ${id} order by created_at`;
    assert.deepEqual(rows.map((r) => r.role), ["user", "assistant", "assistant"]);
  },
});

Deno.test({
  name: "one stored message by id, as in the history; nothing for an id that is not this conversation's",
  ...opts,
  fn: async () => {
    const ana = await newUser("by-id");
    const stranger = await newUser("by-id-stranger");
    const first = await chat(ana, undefined as unknown as string, "First talk");
    const other = await chat(ana, undefined as unknown as string, "Second talk");
    assert.equal(first.status, 200);
    assert.equal(other.status, 200);
    await settled(ana.id);
    const id = first.body.conversationId;
    const { messages } = await (await call(ana, `/${id}/messages`)).json();
    assert.equal(messages.length, 2);
    for (const m of messages) {
      const one = await call(ana, `/${id}/messages/${m.id}`);
      assert.equal(one.status, 200);
      assert.equal(one.headers.get("x-user-tier"), "free");
      assert.deepEqual(await one.json(), m);
    }

    const elsewhere = other.body.messageId; // Ana's own, but stored in her other conversation
    for (
      const [user, messageId, why] of [
        [ana, elsewhere, "a message of another conversation"],
        [ana, crypto.randomUUID(), "an id nothing has"],
        [ana, "not-a-uuid", "a malformed id"],
        [stranger, messages[0].id, "a conversation the caller is not in"],
      ] as const
    ) {
      const res = await call(user, `/${id}/messages/${messageId}`);
      assert.equal(res.status, 404, why);
      assert.equal((await res.json()).error.code, "not_found", why);
    }
  },
});

Deno.test({
  name: "sharing or chatting into a conversation deleted meanwhile is a 404, never a 500",
  ...opts,
  fn: async () => {
    const [owner, friend] = await Promise.all([newUser("race-owner"), newUser("race-friend")]);
    for (let i = 0; i < 12; i++) {
      const { id } =
        await (await call(owner, "", { method: "POST", body: JSON.stringify({ title: `race ${i}` }) }))
          .json();
      const [added, asked, deleted] = await Promise.all([
        call(owner, `/${id}/members`, { method: "POST", body: JSON.stringify({ email: friend.email }) }),
        chat(owner, id, `race ${i}`),
        call(owner, `/${id}`, { method: "DELETE" }),
      ]);
      await added.body?.cancel();
      await deleted.body?.cancel();
      assert.ok([201, 404].includes(added.status), `sharing: ${added.status}`);
      assert.ok([200, 404].includes(asked.status), `chatting: ${asked.status} ${JSON.stringify(asked.body)}`);
      assert.equal(deleted.status, 200);
    }
    await settled(owner.id);
  },
});

Deno.test({
  name: "a member leaves a conversation whatever the case of his id",
  ...opts,
  fn: async () => {
    const [owner, friend] = await Promise.all([newUser("case-owner"), newUser("case-friend")]);
    const { id } = await (await call(owner, "", { method: "POST", body: JSON.stringify({ title: "case" }) }))
      .json();
    await share(owner, id, friend);
    const left = await call(friend, `/${id}/members/${friend.id.toUpperCase()}`, { method: "DELETE" });
    assert.equal(left.status, 200);
    assert.deepEqual(await left.json(), { conversationId: id, userId: friend.id, removed: true });
  },
});

Deno.test({
  name: "conversations and histories come in pages: newest first, by cursor, nothing skipped or repeated",
  ...opts,
  fn: async () => {
    const pat = await newUser("pages");
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(pat, "", { method: "POST", body: JSON.stringify({ title: `page ${i}` }) });
      made.unshift((await res.json()).id); // the newest is listed first
    }
    const listed: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const res = await call(pat, `?limit=2${cursor ? `&before=${encodeURIComponent(cursor)}` : ""}`);
      assert.equal(res.status, 200);
      const page = await res.json();
      assert.ok(page.data.length <= 2);
      listed.push(...page.data.map((c: { id: string }) => c.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(listed, made, "every conversation once, most recently active first");
    const busted = await call(pat, `?limit=2&_=${Date.now()}`);
    assert.equal(busted.status, 200, "other query parameters (a cache-buster) are ignored");
    await busted.body?.cancel();
    for (
      const query of [
        "?limit=0",
        "?limit=201",
        "?before=yesterday",
        `?before=1.${"-".repeat(36)}`,
        `?before=1.${"a".repeat(36)}`,
      ]
    ) {
      const res = await call(pat, query);
      assert.equal(res.status, 400, query);
      assert.equal((await res.json()).error.code, "invalid_request");
    }

    const conversation = made[0];
    for (let i = 0; i < 3; i++) assert.equal((await chat(pat, conversation, `question ${i}`)).status, 200);
    await settled(pat.id);
    const all = await (await call(pat, `/${conversation}/messages`)).json();
    assert.equal(all.messages.length, 6);
    assert.equal(all.hasMore, false);
    const newest = await (await call(pat, `/${conversation}/messages?limit=4`)).json();
    assert.deepEqual(newest.messages, all.messages.slice(2), "the newest four, oldest first");
    assert.equal(newest.hasMore, true);
    const older = await (await call(pat, `/${conversation}/messages?limit=4&before=${newest.messages[0].id}`))
      .json();
    assert.deepEqual(older.messages, all.messages.slice(0, 2), "then what came before them");
    assert.equal(older.hasMore, false);
    assert.deepEqual(older.members, all.members);
    for (const query of ["?limit=0", "?limit=501", `?before=${crypto.randomUUID()}`, "?before=1"]) {
      const res = await call(pat, `/${conversation}/messages${query}`);
      assert.equal(res.status, 400, query);
      await res.body?.cancel();
    }
  },
});

Deno.test({
  name:
    "invitations: the same answer for any email; the invitee sees, accepts or declines; the owner cancels",
  ...opts,
  fn: async () => {
    const [owner, invitee, other] = await Promise.all([
      newUser("inv-owner"),
      newUser("inv-invitee"),
      newUser("inv-other"),
    ]);
    const { id } = await (await call(owner, "", { method: "POST", body: JSON.stringify({ title: "Plans" }) }))
      .json();
    const invite = async (email: string) => {
      const res = await call(owner, `/${id}/members`, { method: "POST", body: JSON.stringify({ email }) });
      return { status: res.status, body: await res.json() };
    };
    const known = await invite(invitee.email);
    const unknown = await invite(`nobody-${crypto.randomUUID().slice(0, 8)}@example.test`);
    assert.equal(known.status, 201);
    assert.equal(unknown.status, 201, "an email without an account is invited alike");
    const shape = (b: Record<string, unknown>) => Object.keys(b).sort();
    assert.deepEqual(
      shape(known.body),
      shape(unknown.body),
      "nothing tells whether the email has an account",
    );
    assert.equal(known.body.userId, undefined);
    assert.equal((await invite(owner.email)).status, 409, "the owner is a member already");

    const mine = await (await call(invitee, "/invitations")).json();
    assert.equal(mine.data.length, 1);
    assert.equal(mine.data[0].id, known.body.id);
    assert.equal(mine.data[0].conversationId, id);
    assert.equal(mine.data[0].title, "Plans");
    assert.equal(mine.data[0].invitedBy.userId, owner.id);
    assert.deepEqual((await (await call(other, "/invitations")).json()).data, [], "others see none of it");
    const pending = await (await call(owner, `/${id}/members`)).json();
    assert.deepEqual(
      pending.invitations.map((i: { email: string }) => i.email).sort(),
      [
        invitee.email.toLowerCase(),
        unknown.body.email,
      ].sort(),
    );
    assert.deepEqual(
      pending.members.map((m: { userId: string }) => m.userId),
      [owner.id],
      "nobody added yet",
    );

    const declined = await call(invitee, `/invitations/${known.body.id}`, { method: "DELETE" });
    assert.equal(declined.status, 200);
    await declined.body?.cancel();
    assert.deepEqual((await (await call(invitee, "/invitations")).json()).data, [], "declined");
    const cancelled = await call(owner, `/invitations/${unknown.body.id}`, { method: "DELETE" });
    assert.equal(cancelled.status, 200, "the owner cancels an invitation");
    await cancelled.body?.cancel();
    const notHis = await call(other, `/invitations/${crypto.randomUUID()}`, { method: "DELETE" });
    assert.equal(notHis.status, 404);
    await notHis.body?.cancel();
    assert.deepEqual((await (await call(owner, `/${id}/members`)).json()).invitations, []);
    const [{ n }] =
      await database()`select count(*)::int as n from public.conversation_members where conversation_id = ${id}`;
    assert.equal(n, 1, "nobody joined without accepting");
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
