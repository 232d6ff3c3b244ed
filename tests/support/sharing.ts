// Sharing a conversation as users do: the owner invites by email, the invitee accepts.

import assert from "node:assert/strict";
import { functionsUrl, type TestUser } from "./users.ts";

async function conversationsCall(
  user: TestUser,
  path: string,
  method: string,
  body?: unknown,
  status?: number,
) {
  const res = await fetch(functionsUrl(`conversations${path}`), {
    method,
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(
    status === undefined ? res.ok : res.status === status,
    `${method} ${path}: ${res.status} ${JSON.stringify(json)}`,
  );
  return json;
}

/** `owner` invites `email` to conversation `id`; the invitation as the API answers it. */
export function invite(owner: TestUser, id: string, email: string): Promise<{ id: string }> {
  return conversationsCall(owner, `/${id}/members`, "POST", { email }, 201);
}

/** `owner` invites `member` to conversation `id`, and `member` accepts: he is a member after. */
export async function share(owner: TestUser, id: string, member: TestUser): Promise<void> {
  const invitation = await invite(owner, id, member.email);
  await conversationsCall(member, `/invitations/${invitation.id}/accept`, "POST");
}
