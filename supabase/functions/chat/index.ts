// POST /functions/v1/chat: the integrated chat API (DESIGN.md §4).

import { createApp, requireUser } from "../_shared/http/app.ts";
import { readJson } from "../_shared/http/validate.ts";
import { ChatBody } from "../_shared/chat/schema.ts";
import { admitChat, respond } from "../_shared/chat/pipeline.ts";

const app = createApp("chat");

app.post("/", requireUser, async (c) => {
  const timing = c.get("timing");
  const body = await readJson(c.req.raw, ChatBody);
  timing.mark("parse");
  const ctx = await admitChat(c.get("user").sub, body);
  timing.mark("admit");
  return await respond(ctx, body, c.req.raw.signal, timing);
});

Deno.serve(app.fetch);
