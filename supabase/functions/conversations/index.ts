// /functions/v1/conversations: my conversations (owned or shared with me), their history, their
// members, and sharing. Reads and owner edits run as the user, so RLS decides what is visible;
// adding a member (which needs another user's id) runs as the service, after checking ownership.

import { createApp, requireUser } from "../_shared/http/app.ts";
import { parse, readJson } from "../_shared/http/validate.ts";
import { ApiError } from "../_shared/http/errors.ts";
import { type QuotaSnapshot, userContextHeaders } from "../_shared/http/user-context.ts";
import { asUser, db } from "../_shared/db.ts";
import { asKnownUser, knownUserQuota } from "../_shared/auth/known-user.ts";
import { decimalJson } from "../_shared/money.ts";
import { cursorOf, olderThan, pageOf } from "../_shared/http/keyset.ts";
import {
  ConversationPatch,
  ConversationsQuery,
  MessagesQuery,
  NewConversation,
  NewMember,
  Uuid,
} from "../_shared/conversations/schema.ts";
import type { Context } from "hono";
import type postgres from "postgres";
import type { AppEnv } from "../_shared/http/app.ts";

const app = createApp("conversations");

/**
 * The signed-in caller and their quota, read first: a user the database no longer has (deleted,
 * token still valid) is a 401 on every route, as on /account, instead of empty lists.
 */
async function caller(c: Context<AppEnv>) {
  const user = c.get("user");
  return { user, quota: await knownUserQuota(user.sub) };
}

function reply(c: Context<AppEnv>, quota: QuotaSnapshot, body: unknown, status: 200 | 201 = 200) {
  return c.json(body, status, userContextHeaders(quota));
}

function conversationId(c: Context<AppEnv>): string {
  const id = c.req.param("id");
  if (!Uuid.safeParse(id).success) throw new ApiError("not_found", "Conversation not found");
  return id!;
}

const camel = (row: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k.replace(/_([a-z])/g, (_, l) => l.toUpperCase()), v]),
  );

const queryOf = (c: Context<AppEnv>) => Object.fromEntries(new URL(c.req.url).searchParams);

/**
 * My conversations as my list shows them: with my role, the member count, and the paging cursor
 * (its activity time in µs and id). Read as the user; callers add a where clause.
 */
const myConversations = (sql: postgres.TransactionSql, userId: string) =>
  sql`
    select c.id, c.title, c.owner_id, c.created_at, c.updated_at, m.role,
           (select count(*)::int from public.conversation_members x where x.conversation_id = c.id) as members,
           ${cursorOf(sql, sql`c.updated_at`, sql`c.id`)} as cursor
    from public.conversations c
    join public.conversation_members m on m.conversation_id = c.id and m.user_id = ${userId}`;

/** A row of myConversations as the API shows it. */
const listed = ({ cursor: _, ...row }: postgres.Row) => camel(row);

app.get("/", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const { limit, before } = parse(ConversationsQuery, queryOf(c));
  const rows = await asUser(user, (sql) =>
    sql`
    ${myConversations(sql, user.sub)}
    where ${olderThan(sql, sql`c.updated_at`, sql`c.id`, before)}
    order by c.updated_at desc, c.id desc
    limit ${limit + 1}`);
  const { page, nextCursor } = pageOf(rows, limit);
  return reply(c, quota, { data: page.map(camel), nextCursor });
});

app.post("/", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const body = await readJson(c.req.raw, NewConversation);
  const [row] = await asKnownUser(db()`
    insert into public.conversations (owner_id, title) values (${user.sub}, ${
    body.title ?? "New conversation"
  })
    returning id, title, owner_id, created_at, updated_at`);
  return reply(c, quota, { ...camel(row), role: "owner", members: 1 }, 201);
});

app.patch("/:id", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = conversationId(c);
  const body = await readJson(c.req.raw, ConversationPatch);
  const rows = await asUser(
    user,
    (sql) =>
      sql`update public.conversations set title = ${body.title} where id = ${id}
        returning id, title, owner_id, created_at, updated_at`,
  );
  if (!rows.length) await refuse(user.sub, id);
  return reply(c, quota, camel(rows[0]));
});

app.delete("/:id", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = conversationId(c);
  const rows = await asUser(
    user,
    (sql) => sql`delete from public.conversations where id = ${id} returning id`,
  );
  if (!rows.length) await refuse(user.sub, id);
  return reply(c, quota, { id, deleted: true });
});

/**
 * The members of a conversation the caller is in, with their names, avatars and emails (other
 * users' profiles are private, so this goes through conversation_member_profiles(), which shows
 * members to members only). Empty for a conversation the caller is not in.
 */
async function membersOf(sql: postgres.TransactionSql, id: string) {
  const rows = await sql`
    select user_id, email, display_name, avatar_url, role, added_at
    from public.conversation_member_profiles(${id})`;
  return rows.map((m) => ({
    userId: m.user_id,
    email: m.email,
    displayName: m.display_name,
    avatarUrl: m.avatar_url,
    role: m.role,
    joinedAt: m.added_at,
  }));
}

const messageJson = (m: postgres.Row) => camel({ ...m, cost: m.cost === null ? null : decimalJson(m.cost) });
const messageColumns = (sql: postgres.TransactionSql) =>
  sql`id, user_id, role, content, model, cost::text as cost, input_tokens, output_tokens, status, created_at`;

/** One stored message of a conversation, as the caller may read it (RLS). */
async function messageOf(sql: postgres.TransactionSql, id: string, messageId: string) {
  const [message] = await sql`
    select ${messageColumns(sql)}
    from public.messages where conversation_id = ${id} and id = ${messageId}`;
  return message && messageJson(message);
}

/**
 * The newest `limit` messages of a conversation (those before message `before`, if given), as
 * the caller may read them (RLS), oldest first; one more is read to tell whether older remain.
 */
async function messagesOf(sql: postgres.TransactionSql, id: string, limit: number, before?: string) {
  const rows = await sql`
    select ${messageColumns(sql)}
    from public.messages where conversation_id = ${id}
    ${
    before
      ? sql`and (created_at, id) < (select created_at, id from public.messages
                                   where conversation_id = ${id} and id = ${before})`
      : sql``
  }
    order by created_at desc, id desc
    limit ${limit + 1}`;
  return { messages: rows.slice(0, limit).reverse().map(messageJson), hasMore: rows.length > limit };
}

app.get("/:id/messages", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = conversationId(c);
  const { limit, before } = parse(MessagesQuery, queryOf(c));
  const { page, members } = await asUser(user, async (sql) => {
    const [conversation] = await sql`select id from public.conversations where id = ${id}`;
    if (!conversation) throw new ApiError("not_found", "Conversation not found");
    if (before && !(await messageOf(sql, id, before))) {
      throw new ApiError("invalid_request", "before: no message of this conversation has that id", [
        { field: "before", message: "not a message of this conversation" },
      ]);
    }
    return { page: await messagesOf(sql, id, limit, before), members: await membersOf(sql, id) };
  });
  return reply(c, quota, { conversationId: id, members, ...page });
});

/**
 * One stored message, as in the history. Clients read what a Realtime `message` event announces
 * here: the event carries only the id, and any member can forge one, so what is shown is only
 * ever what the database holds for this conversation and lets the caller read.
 */
app.get("/:id/messages/:messageId", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = conversationId(c);
  const messageId = c.req.param("messageId");
  if (!Uuid.safeParse(messageId).success) throw new ApiError("not_found", "Message not found");
  const message = await asUser(user, (sql) => messageOf(sql, id, messageId));
  if (!message) throw new ApiError("not_found", "Message not found");
  return reply(c, quota, message);
});

app.get("/:id/members", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = conversationId(c);
  const [members, invitations] = await Promise.all([
    asUser(user, (sql) => membersOf(sql, id)),
    // pending invitations: its owner's to see, nobody else's
    db()`select id, email, invited_at as "invitedAt" from public.conversation_invitations_of(${user.sub}, ${id})`,
  ]);
  // A member always finds themself; nothing means not a member (or no such conversation).
  if (!members.length) throw new ApiError("not_found", "Conversation not found");
  return reply(c, quota, { conversationId: id, members, invitations });
});

/** A write that changed nothing: the conversation is not mine (403) or not visible (404). */
async function refuse(userId: string, id: string): Promise<never> {
  const [member] = await db()`
    select role from public.conversation_members where conversation_id = ${id} and user_id = ${userId}`;
  if (member) throw new ApiError("forbidden", "Only the conversation's owner can do that");
  throw new ApiError("not_found", "Conversation not found");
}

/**
 * Sharing invites (migrations/*_conversation_invitations.sql): the answer is the same whether or
 * not an account has that email, so nobody learns who is registered, and nobody is added to a
 * conversation without accepting.
 */
app.post("/:id/members", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = conversationId(c);
  const { email } = await readJson(c.req.raw, NewMember);
  const [{ invitation }] =
    await db()`select public.invite_to_conversation(${user.sub}, ${id}, ${email}) as invitation`;
  if (invitation.error === "not_found") throw new ApiError("not_found", "Conversation not found");
  if (invitation.error === "forbidden") {
    throw new ApiError("forbidden", "Only the conversation's owner can share it");
  }
  if (invitation.error === "too_many") {
    throw new ApiError(
      "conflict",
      `This conversation has ${invitation.max} invitations waiting: cancel some before inviting more`,
    );
  }
  if (invitation.error === "already_member") {
    throw new ApiError("conflict", "That email is already a member of this conversation", { field: "email" });
  }
  return reply(c, quota, { ...invitation, status: "invited" }, 201);
});

const invitationId = (c: Context<AppEnv>) => {
  const id = c.req.param("invitationId");
  if (!Uuid.safeParse(id).success) throw new ApiError("not_found", "Invitation not found");
  return id!.toLowerCase();
};

app.get("/invitations", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const rows = await db()`select * from public.invitations_of(${user.sub})`;
  return reply(c, quota, {
    data: rows.map((i) => ({
      id: i.id,
      conversationId: i.conversation_id,
      title: i.title,
      invitedBy: { userId: i.invited_by, displayName: i.inviter_name },
      invitedAt: i.invited_at,
    })),
  });
});

app.post("/invitations/:invitationId/accept", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = invitationId(c);
  const [{ accepted }] = await db()`select public.accept_invitation(${user.sub}, ${id}) as accepted`;
  if (!accepted) throw new ApiError("not_found", "Invitation not found");
  // now a member: the conversation as my list shows it, read as me
  const [conversation] = await asUser(
    user,
    (sql) => sql`${myConversations(sql, user.sub)} where c.id = ${accepted}`,
  );
  if (!conversation) throw new ApiError("not_found", "Invitation not found");
  return reply(c, quota, listed(conversation));
});

/** The invitee declines, or the conversation's owner cancels. */
app.delete("/invitations/:invitationId", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = invitationId(c);
  const [{ withdrawn }] = await db()`select public.withdraw_invitation(${user.sub}, ${id}) as withdrawn`;
  if (!withdrawn) throw new ApiError("not_found", "Invitation not found");
  return reply(c, quota, { id, deleted: true });
});

async function ownConversation(userId: string, id: string) {
  const [row] = await db()`select owner_id from public.conversations where id = ${id}`;
  const [member] = row
    ? await db()`select 1 from public.conversation_members where conversation_id = ${id} and user_id = ${userId}`
    : [];
  if (!row || !member) throw new ApiError("not_found", "Conversation not found");
  if (row.owner_id !== userId) throw new ApiError("forbidden", "Only the conversation's owner can do that");
}

app.delete("/:id/members/:userId", requireUser, async (c) => {
  const { user, quota } = await caller(c);
  const id = conversationId(c);
  const memberId = c.req.param("userId").toLowerCase(); // ids are stored (and tokens carry them) in lowercase
  if (!Uuid.safeParse(memberId).success) throw new ApiError("not_found", "Member not found");
  // The owner removes anyone but themself; a member may leave.
  if (memberId !== user.sub) await ownConversation(user.sub, id);
  const rows = await db()`
    delete from public.conversation_members
    where conversation_id = ${id} and user_id = ${memberId} and role <> 'owner'
    returning user_id`;
  if (!rows.length) throw new ApiError("not_found", "Member not found (the owner cannot be removed)");
  return reply(c, quota, { conversationId: id, userId: memberId, removed: true });
});

Deno.serve(app.fetch);
