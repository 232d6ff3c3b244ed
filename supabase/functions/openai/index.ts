// /functions/v1/openai: the OpenAI Chat Completions surface over the same pipeline (auth,
// admission, routing, metering, response cache), for the SDKs and tools people already have.
// Accepts a platform API key (nx_…) or a Supabase access token as the bearer.

import { createApp } from "../_shared/http/app.ts";
import type { ApiError } from "../_shared/http/errors.ts";
import { ApiError as Refusal } from "../_shared/http/errors.ts";
import { parse } from "../_shared/http/validate.ts";
import { bearerToken, verifyAccessToken } from "../_shared/auth/verify.ts";
import { hashApiKey, isApiKey } from "../_shared/auth/api-keys.ts";
import { checkApiKey, forgetApiKey } from "../_shared/auth/known-key.ts";
import { idempotencyKey } from "../_shared/http/idempotency.ts";
import { prepareChat, respond } from "../_shared/chat/pipeline.ts";
import { CompletionRequest, toChatBody } from "../_shared/openai/schema.ts";
import { openaiFormat } from "../_shared/openai/format.ts";
import { respondStoredIn } from "../_shared/chat/replay.ts";
import { CHAT_MODELS } from "../_shared/catalog/index.ts";
import { servable } from "../_shared/router/index.ts";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../_shared/http/app.ts";

const TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "insufficient_quota",
  403: "permission_error",
  404: "not_found_error",
  409: "conflict_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
};

/** Errors in OpenAI's shape, with statuses that make the SDKs raise the right classes. */
function openaiError(e: ApiError) {
  const details = e.details as { field?: string; model?: string } | { field?: string }[] | undefined;
  // An unknown model on GET /models/:id, as OpenAI answers it (404 model_not_found, param null).
  if (e.code === "not_found" && !Array.isArray(details) && details?.model !== undefined) {
    return {
      error: { message: e.message, type: "invalid_request_error", param: null, code: "model_not_found" },
    };
  }
  const param = Array.isArray(details) ? details[0]?.field ?? null : details?.field ?? null;
  return {
    error: {
      message: e.message,
      type: TYPES[e.status] ?? "api_error",
      param,
      code: e.code === "rate_limited"
        ? "rate_limit_exceeded"
        : e.code === "unauthorized"
        ? "invalid_api_key"
        : e.code,
    },
  };
}

const app = createApp("openai", { errorBody: openaiError });

/** A platform API key (see known-key.ts; admission checks it again) or a user's access token. */
const requireCaller: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c.req.raw);
  if (isApiKey(token)) c.set("keyHash", await hashApiKey(token));
  else c.set("user", await verifyAccessToken(token));
  c.get("timing").mark("auth");
  await next();
};

app.post("/chat/completions", requireCaller, async (c) => {
  const timing = c.get("timing");
  const keyHash = c.get("keyHash");
  const keyChecked = keyHash ? checkApiKey(keyHash) : undefined;
  keyChecked?.catch(() => {}); // awaited below, once the body is in
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    await keyChecked;
    throw new Refusal("invalid_request", "Body is not valid JSON");
  }
  await keyChecked;
  const request = parse(CompletionRequest, raw);
  const body = toChatBody(request);
  timing.mark("parse");
  const caller = keyHash ? { keyHash } : { userId: c.get("user").sub, sessionId: c.get("user").session_id };
  const prepared = await prepareChat(caller, body, {
    requestId: c.get("requestId"),
    idempotencyKey: idempotencyKey(c.req.raw),
    store: false,
    timing,
  }).catch((e) => {
    if (keyHash && e instanceof Refusal && e.code === "unauthorized") forgetApiKey(keyHash);
    throw e;
  });
  timing.mark("admit");
  const includeUsage = request.stream_options?.include_usage ?? false;
  if (prepared.kind === "stored") {
    // What is stored is an answer's text: a replay of a request with tools would lose its calls.
    if (!prepared.answer.cached && body.tools?.length) {
      throw new Refusal("conflict", "This Idempotency-Key was already used for a request with tools");
    }
    return respondStoredIn(openaiFormat(includeUsage), prepared.answer, body.stream);
  }
  return await respond(prepared.ctx, c.req.raw.signal, timing, openaiFormat(includeUsage));
});

const CREATED = Math.floor(new Date("2025-01-01").getTime() / 1000);

/** A model in OpenAI's shape. */
const modelObject = (m: (typeof CHAT_MODELS)[number]) => ({
  id: m.id,
  object: "model",
  created: CREATED,
  owned_by: m.vendor,
});

app.get("/models", requireCaller, async (c) => {
  const keyHash = c.get("keyHash");
  if (keyHash) await checkApiKey(keyHash);
  return c.json({ object: "list", data: CHAT_MODELS.filter(servable).map(modelObject) });
});

// client.models.retrieve(id): one model of the list; any other id is a 404 in OpenAI's shape.
app.get("/models/:id", requireCaller, async (c) => {
  const keyHash = c.get("keyHash");
  if (keyHash) await checkApiKey(keyHash);
  const id = c.req.param("id");
  const model = CHAT_MODELS.find((m) => m.id === id);
  if (!model || !servable(model)) {
    throw new Refusal(
      "not_found",
      `The model \`${id}\` does not exist or you do not have access to it.`,
      { model: id },
    );
  }
  return c.json(modelObject(model));
});

Deno.serve(app.fetch);
