// Bodies of the conversation endpoints, validated at the boundary.

import { z } from "zod";

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
