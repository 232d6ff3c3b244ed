// POST /functions/v1/chat: the integrated chat API (DESIGN.md §4).

import { createApp, requireUser } from "../_shared/http/app.ts";
import { readJson } from "../_shared/http/validate.ts";
import { ChatBody } from "../_shared/chat/schema.ts";
import { admitChat, respond } from "../_shared/chat/pipeline.ts";

const app = createApp("chat");

app.post("/", requireUser, async (c) => {
  const body = await readJson(c.req.raw, ChatBody);
  const ctx = await admitChat(c.get("user").sub, body);
  return await respond(ctx, body, c.req.raw.signal);
});

Deno.serve(app.fetch);
