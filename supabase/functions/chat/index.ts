// POST /functions/v1/chat: the integrated chat API (DESIGN.md §4).

import { createApp, requireUser } from "../_shared/http/app.ts";
import { readJson } from "../_shared/http/validate.ts";
import { ApiError } from "../_shared/http/errors.ts";
import { userContextHeaders } from "../_shared/http/user-context.ts";
import { quotaOf } from "../_shared/metering.ts";
import { ChatBody } from "../_shared/chat/schema.ts";
import { admitChat, respond } from "../_shared/chat/pipeline.ts";

const app = createApp("chat");

app.post("/", requireUser, async (c) => {
  const user = c.get("user");
  let body: ChatBody;
  try {
    body = await readJson(c.req.raw, ChatBody);
  } catch (e) {
    // Refusals before admission still tell the client where it stands.
    if (e instanceof ApiError) {
      const quota = await quotaOf(user.sub).catch(() => null);
      if (quota) Object.assign(e.headers, userContextHeaders(quota));
    }
    throw e;
  }
  const ctx = await admitChat(user.sub, body);
  return await respond(ctx, body, c.req.raw.signal);
});

Deno.serve(app.fetch);
