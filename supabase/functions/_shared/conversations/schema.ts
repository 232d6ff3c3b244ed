// Bodies of the conversation endpoints, validated at the boundary.

import { z } from "zod";
import { KeysetCursor } from "../http/keyset.ts";

export const NewConversation = z.strictObject({
  title: z.string().trim().min(1).max(200).optional(),
});

export const ConversationPatch = z.strictObject({
  title: z.string().trim().min(1).max(200),
});

export const NewMember = z.strictObject({
  email: z.email().max(320).transform((e) => e.toLowerCase()),
});

export const Uuid = z.uuid();

/** `GET /conversations` query: a page of my conversations, most recently active first. */
// Query strings: other parameters (a cache-buster, say) are ignored, as before paging.
export const ConversationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(200),
  before: KeysetCursor.optional(),
});

/** `GET /conversations/:id/messages` query: the newest messages, or those before a message. */
export const MessagesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(200),
  before: z.uuid().optional(),
});
