// The Realtime stand-in (DESIGN.md §6): createRealtimeService(...).fetch(req) answers everything
// under /realtime/v1/ the way Supabase Realtime behind Supabase's API gateway does, for what
// @supabase/realtime-js speaks:
//
//   GET  /realtime/v1/websocket?apikey=…&vsn=2.0.0|1.0.0   the Phoenix socket (connection.ts, channel.ts)
//   POST /realtime/v1/api/broadcast                        REST broadcast (broadcast-http.ts)
//   POST /realtime/v1/api/broadcast/:topic/events/:event
//
// plus broadcasts of the rows committed to realtime.messages, read from logical replication as
// Realtime reads them (db-listener.ts). The gateway (scripts/stack/main.ts) adds CORS to the HTTP
// answers.

import postgres from "postgres";
import type { ProjectKeys } from "../keys.ts";
import { handleBroadcastHttp, xHeaders } from "./broadcast-http.ts";
import { Connection } from "./connection.ts";
import { DEFAULT_LIMITS, type Limits, type RealtimeContext } from "./context.ts";
import { type DbListener, listenForBroadcasts } from "./db-listener.ts";
import { apiKeyOf, checkApiKey } from "./gateway.ts";
import { PresenceTracker } from "./presence.ts";
import { PubSub } from "./pubsub.ts";
import { negotiate } from "./serializer.ts";
import { connectError, makeTokenVerifier } from "./tokens.ts";

export interface RealtimeServiceOptions {
  dbUrl: string;
  keys: ProjectKeys;
  /** The Auth issuer. Realtime validates no `iss` by default (jwt_claim_validators is empty). */
  issuer: string;
  limits?: Partial<Limits>;
}

export interface RealtimeService {
  fetch(req: Request): Promise<Response> | Response;
  close(): Promise<void>;
}

const PREFIX = "/realtime/v1";

export function createRealtimeService(opts: RealtimeServiceOptions): RealtimeService {
  const sql = postgres(opts.dbUrl, {
    max: 10,
    onnotice: () => {},
    connection: { application_name: "nexus-realtime" },
  });
  const pubsub = new PubSub();
  const listener: DbListener = listenForBroadcasts(opts.dbUrl, pubsub);
  const ctx: RealtimeContext = {
    sql,
    pubsub,
    presence: new PresenceTracker(),
    verify: makeTokenVerifier(opts.keys.jwks),
    replicationReady: () => listener.ready,
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
  };
  const knownKeys = new Set([opts.keys.anonKey, opts.keys.serviceRoleKey]);
  const connections = new Set<Connection>();
  let closed = false;

  async function connect(req: Request, url: URL): Promise<Response> {
    const apikey = apiKeyOf(req, url);
    const gate = checkApiKey(apikey, knownKeys);
    if (gate) return gate;
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Upgrade Required", { status: 426, headers: { upgrade: "websocket" } });
    }
    // Realtime's own check of the key (UserSocket.connect): a JWT of the project, role and exp.
    const checked = await ctx.verify(apikey);
    if (!checked.ok) {
      const status = checked.error === "invalid_claims" ? 500 : 401;
      return Response.json({ error: connectError(checked) }, { status });
    }
    const serializer = negotiate(url.searchParams.get("vsn"));
    if (!serializer) return new Response(null, { status: 403 });
    if (closed) return new Response(null, { status: 503 });

    const headers = xHeaders(req.headers); // read before the upgrade takes the request over
    const { socket, response } = Deno.upgradeWebSocket(req);
    const conn = new Connection(ctx, socket, serializer, apikey!, headers, (c) => connections.delete(c));
    connections.add(conn);
    return response;
  }

  return {
    async fetch(req) {
      const url = new URL(req.url);
      if (!url.pathname.startsWith(`${PREFIX}/`)) return notFound();
      const path = url.pathname.slice(PREFIX.length);
      if (path === "/websocket" || path === "/socket/websocket") return await connect(req, url);
      if (path.startsWith("/api/broadcast")) {
        const gate = checkApiKey(apiKeyOf(req, url), knownKeys);
        if (gate) return gate;
        return await handleBroadcastHttp(ctx, req, path);
      }
      return notFound();
    },

    async close() {
      closed = true;
      for (const conn of [...connections]) conn.close(1001, "server shutting down");
      await listener.close();
      await sql.end({ timeout: 5 });
    },
  };
}

function notFound(): Response {
  return Response.json({ message: "no Route matched with those values" }, { status: 404 });
}
