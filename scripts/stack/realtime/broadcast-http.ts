// Realtime's REST broadcast (behind the gateway's API key check):
//
// POST /api/broadcast {messages: [{topic, event, payload, private?, id?}]}
//   (BroadcastController + Tenants.BatchBroadcast): public messages go out as JSON broadcasts
//   {type: "broadcast", event, payload[, meta: {id}]}; private ones, grouped by topic, only when
//   the caller's JWT may write to the topic (RLS probe as its role; service_role bypasses RLS) —
//   the others are skipped silently. 202 with an empty body; 422 {errors} when invalid.
// POST /api/broadcast/:topic/events/:event[?private=true] (BroadcastSingleController): the body,
//   JSON or application/octet-stream, is the payload of a user broadcast; a private one the caller
//   may not write is 403 {message: "Unauthorized"}.
//
// The caller is the Authorization bearer token, else the apikey; either must verify
// (RealtimeWeb.AuthTenant), or it is 401 {message: "Unauthorized"}.

import { DatabaseUnavailable, emptyPolicies, writePolicies } from "./authorize.ts";
import type { RealtimeContext } from "./context.ts";
import { type Fanout, isObject } from "./messages.ts";
import { tenantTopic } from "./pubsub.ts";
import type { Claims } from "./tokens.ts";

export async function handleBroadcastHttp(
  ctx: RealtimeContext,
  req: Request,
  path: string,
): Promise<Response> {
  const single = /^\/api\/broadcast\/([^/]+)\/events\/([^/]+)$/.exec(path);
  if (path !== "/api/broadcast" && !single) return notFound();
  if (req.method !== "POST") return notFound();

  let contentType: "json" | "binary" = "json";
  if (single) {
    const type = req.headers.get("content-type");
    const media = type?.split(";")[0].trim().toLowerCase();
    if (media === "application/octet-stream") contentType = "binary";
    else if (type !== null && media !== "application/json") {
      return Response.json(
        { error: "Unsupported Media Type. Use application/json or application/octet-stream" },
        { status: 415 },
      );
    }
  }

  const claims = await caller(ctx, req);
  if (!claims) return Response.json({ message: "Unauthorized" }, { status: 401 });
  const headers = xHeaders(req.headers);

  if (single) {
    const topic = decodeURIComponent(single[1]);
    const event = decodeURIComponent(single[2]);
    const isPrivate = new URL(req.url).searchParams.get("private") === "true";
    let data: Uint8Array;
    if (contentType === "binary") {
      data = new Uint8Array(await req.arrayBuffer());
    } else {
      const text = await req.text();
      let payload: unknown = {};
      if (text.trim() !== "") {
        try {
          payload = JSON.parse(text);
        } catch {
          return Response.json({ message: "Bad Request" }, { status: 400 });
        }
      }
      data = new TextEncoder().encode(JSON.stringify(payload));
    }
    if (isPrivate) {
      const allowed = await mayWrite(ctx, claims, topic, headers);
      if (allowed === "unavailable") {
        return Response.json({ message: "Tenant database unavailable" }, { status: 422 });
      }
      if (!allowed) return Response.json({ message: "Unauthorized" }, { status: 403 });
    }
    const fanout: Fanout = {
      kind: "user_broadcast",
      userEvent: event,
      encoding: contentType,
      data,
      metadata: null,
    };
    ctx.pubsub.broadcast(tenantTopic(topic, isPrivate), fanout, "broadcast");
    return new Response(null, { status: 202 });
  }

  let body: unknown;
  try {
    body = await req.json();
  } catch {
    return Response.json({ message: "Bad Request" }, { status: 400 });
  }
  const parsed = validateBatch(body);
  if ("errors" in parsed) return Response.json({ errors: parsed.errors }, { status: 422 });

  const privateByTopic = new Map<string, BatchMessage[]>();
  for (const message of parsed.messages) {
    if (message.private) {
      const list = privateByTopic.get(message.topic) ?? [];
      list.push(message);
      privateByTopic.set(message.topic, list);
    } else {
      send(ctx, message, false);
    }
  }
  for (const [topic, messages] of privateByTopic) {
    if ((await mayWrite(ctx, claims, topic, headers)) !== true) continue;
    for (const message of messages) send(ctx, message, true);
  }
  return new Response(null, { status: 202 });
}

interface BatchMessage {
  topic: string;
  event: string;
  payload: Record<string, unknown>;
  private: boolean;
  id?: string;
}

/** The changeset Realtime casts a batch with; errors in the shape of its ChangesetView. */
function validateBatch(body: unknown): { messages: BatchMessage[] } | { errors: Record<string, unknown> } {
  if (!isObject(body) || !("messages" in body) || body.messages === null) {
    return { errors: { messages: ["can't be blank"] } };
  }
  if (!Array.isArray(body.messages)) return { errors: { messages: ["is invalid"] } };
  const messages: BatchMessage[] = [];
  const errors: Record<string, string[]>[] = [];
  let valid = true;
  for (const item of body.messages) {
    const e: Record<string, string[]> = {};
    if (!isObject(item)) {
      errors.push({ messages: ["is invalid"] });
      valid = false;
      continue;
    }
    for (const field of ["topic", "event"] as const) {
      if (item[field] === undefined || item[field] === null || item[field] === "") {
        e[field] = ["can't be blank"];
      } else if (typeof item[field] !== "string") e[field] = ["is invalid"];
    }
    if (item.payload === undefined || item.payload === null) e.payload = ["can't be blank"];
    else if (!isObject(item.payload)) e.payload = ["is invalid"];
    if (item.private !== undefined && item.private !== null && typeof item.private !== "boolean") {
      e.private = ["is invalid"];
    }
    errors.push(e);
    if (Object.keys(e).length > 0) {
      valid = false;
      continue;
    }
    messages.push({
      topic: item.topic as string,
      event: item.event as string,
      payload: item.payload as Record<string, unknown>,
      private: item.private === true,
      id: typeof item.id === "string" ? item.id : undefined,
    });
  }
  return valid ? { messages } : { errors: { messages: errors } };
}

function send(ctx: RealtimeContext, message: BatchMessage, isPrivate: boolean) {
  const payload: Record<string, unknown> = {
    payload: message.payload,
    event: message.event,
    type: "broadcast",
  };
  if (message.id) payload.meta = { id: message.id };
  ctx.pubsub.broadcast(tenantTopic(message.topic, isPrivate), {
    kind: "broadcast",
    event: "broadcast",
    payload,
  }, "broadcast");
}

async function caller(ctx: RealtimeContext, req: Request): Promise<Claims | null> {
  const authorization = req.headers.get("authorization");
  let token: string | null = null;
  if (authorization) {
    const [scheme, value] = authorization.split(" ");
    if (scheme?.toLowerCase() === "bearer" && value) token = value;
  }
  token ??= req.headers.get("apikey");
  if (!token) return null;
  const checked = await ctx.verify(token);
  return checked.ok ? checked.claims : null;
}

async function mayWrite(
  ctx: RealtimeContext,
  claims: Claims,
  topic: string,
  headers: Record<string, string>,
): Promise<boolean | "unavailable"> {
  try {
    const policies = await writePolicies(ctx.sql, { topic, claims, headers }, emptyPolicies());
    return policies.broadcast.write === true;
  } catch (e) {
    if (e instanceof DatabaseUnavailable) return "unavailable";
    console.error(
      `[realtime] RlsPolicyError broadcasting to ${topic}: ${e instanceof Error ? e.message : e}`,
    );
    return false;
  }
}

export function xHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) if (name.startsWith("x-")) out[name] = value;
  return out;
}

function notFound(): Response {
  return Response.json({ message: "Not Found" }, { status: 404 });
}
