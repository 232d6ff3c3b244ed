// POST /functions/v1/chat: the integrated chat API (DESIGN.md §4).

import { createApp, requireUser } from "../_shared/http/app.ts";
import { readJson } from "../_shared/http/validate.ts";
import { ChatBody } from "../_shared/chat/schema.ts";
import { prepareChat, respond, respondStored } from "../_shared/chat/pipeline.ts";
import { idempotencyKey } from "../_shared/http/idempotency.ts";

const app = createApp("chat");

app.post("/", requireUser, async (c) => {
  const timing = c.get("timing");
  const body = await readJson(c.req.raw, ChatBody);
  timing.mark("parse");
  const user = c.get("user");
  const prepared = await prepareChat({ userId: user.sub, sessionId: user.session_id }, body, {
    requestId: c.get("requestId"),
    idempotencyKey: idempotencyKey(c.req.raw),
    timing,
  });
  timing.mark("admit");
  if (prepared.kind === "stored") return respondStored(prepared.answer, body.stream);
  return await respond(prepared.ctx, c.req.raw.signal, timing);
});

Deno.serve(app.fetch);
