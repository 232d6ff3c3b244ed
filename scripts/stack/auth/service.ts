// The Auth (GoTrue) stand-in: createAuthService(...).fetch(req) answers every request under
// /auth/v1/ the way Supabase Auth behind Supabase's API gateway does, for the endpoints this
// product uses (DESIGN.md §6). The gateway (scripts/stack/main.ts) adds CORS.
//
// This file only routes; each endpoint lives in its own module.

import type postgres from "postgres";
import type { ProjectKeys } from "../keys.ts";
import { makeVerifier } from "./authenticate.ts";
import type { AuthContext } from "./context.ts";
import { AuthError, errorResponse, unexpectedFailure } from "./errors.ts";
import { AUTH_DEFAULTS } from "./config.ts";
import { logout } from "./logout.ts";
import { type Mail, Mailbox } from "./mailbox.ts";
import { health, jwks, settings } from "./meta.ts";
import { resend } from "./resend.ts";
import { signup } from "./signup.ts";
import { token } from "./token.ts";
import { getUser, updateUser } from "./user.ts";
import { verify } from "./verify.ts";

export interface AuthServiceOptions {
  sql: postgres.Sql;
  /** The `iss` of access tokens, e.g. http://127.0.0.1:54321/auth/v1 */
  issuer: string;
  keys: ProjectKeys;
  /** [auth] jwt_expiry; default 3600 */
  jwtExpirySeconds?: number;
  /** [auth] minimum_password_length; default 6 (GoTrue's) */
  minPasswordLength?: number;
  /** [auth] refresh_token_reuse_interval; default 10 (Supabase's) */
  refreshTokenReuseIntervalSeconds?: number;
  /** [auth] site_url; default the CLI's, http://127.0.0.1:3000 */
  siteUrl?: string;
  /** [auth] additional_redirect_urls; default the CLI's */
  additionalRedirectUrls?: string[];
  /** [auth.email] enable_confirmations; default false (autoconfirm, as this project's config) */
  confirmations?: boolean;
  /** [auth.email] max_frequency in seconds; default 1 (the CLI's) */
  maxFrequencySeconds?: number;
  /** [auth.email] otp_expiry in seconds; default 3600 (the CLI's) */
  otpExpirySeconds?: number;
  /** Called with every email sent (they are also kept in the service's mailbox). */
  onMail?: (mail: Mail) => void;
}

export interface AuthService {
  fetch(req: Request): Promise<Response>;
  /** The emails sent (GET /__mailbox on the API origin). */
  mailbox: Mailbox;
}

const PREFIX = "/auth/v1";

/** Paths Supabase's gateway serves without an API key (links opened from emails and OAuth
 * redirects, and the public key set). */
const OPEN_PATHS = new Set(["/.well-known/jwks.json", "/verify", "/callback", "/authorize"]);

type Handler = (ctx: AuthContext, req: Request, url: URL) => Promise<Response> | Response;

const ROUTES: Record<string, Partial<Record<string, Handler>>> = {
  "/health": { GET: () => health() },
  "/settings": { GET: (ctx) => settings(ctx.confirmations) },
  "/.well-known/jwks.json": { GET: (ctx) => jwks(ctx.keys) },
  "/signup": { POST: signup },
  "/token": { POST: token },
  "/verify": { GET: verify },
  "/resend": { POST: resend },
  "/user": { GET: getUser, PUT: updateUser },
  "/logout": { POST: logout },
};

export function createAuthService(opts: AuthServiceOptions): AuthService {
  const d = AUTH_DEFAULTS;
  const mailbox = new Mailbox(opts.onMail);
  const ctx: AuthContext = {
    sql: opts.sql,
    issuer: opts.issuer,
    keys: opts.keys,
    jwtExpirySeconds: opts.jwtExpirySeconds ?? d.jwtExpirySeconds,
    minPasswordLength: opts.minPasswordLength ?? d.minPasswordLength,
    refreshTokenReuseIntervalSeconds: opts.refreshTokenReuseIntervalSeconds ??
      d.refreshTokenReuseIntervalSeconds,
    verify: makeVerifier(opts.keys),
    redirects: {
      siteUrl: opts.siteUrl ?? d.siteUrl,
      additionalRedirectUrls: opts.additionalRedirectUrls ?? d.additionalRedirectUrls,
    },
    confirmations: opts.confirmations ?? d.confirmations,
    maxFrequencySeconds: opts.maxFrequencySeconds ?? d.maxFrequencySeconds,
    otpExpirySeconds: opts.otpExpirySeconds ?? d.otpExpirySeconds,
    mailbox,
  };
  const knownKeys = new Set([opts.keys.anonKey, opts.keys.serviceRoleKey]);

  return {
    mailbox,
    async fetch(req: Request): Promise<Response> {
      const url = new URL(req.url);
      if (!url.pathname.startsWith(`${PREFIX}/`)) return notFound();
      const path = url.pathname.slice(PREFIX.length).replace(/(.)\/+$/, "$1");

      const gate = checkApiKey(req, url, path, knownKeys);
      if (gate) return gate;

      const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
      if (!route) return notFound();
      const handler = Object.hasOwn(route, req.method) ? route[req.method] : undefined;
      if (!handler) {
        return new Response(null, { status: 405, headers: { Allow: Object.keys(route).join(", ") } });
      }

      try {
        return await handler(ctx, req, url);
      } catch (e) {
        if (e instanceof AuthError) return errorResponse(e, req);
        console.error(`[auth] ${req.method} ${path}:`, e);
        return errorResponse(unexpectedFailure(), req);
      }
    },
  };
}

/**
 * The API gateway's key check, in front of GoTrue: a request must carry an API key (the
 * `apikey` header or query parameter) or at least an Authorization header. A key that is
 * present must be one of the project's (anon or service role).
 */
function checkApiKey(req: Request, url: URL, path: string, knownKeys: Set<string>): Response | null {
  if (OPEN_PATHS.has(path)) return null;
  const apikey = req.headers.get("apikey") ?? url.searchParams.get("apikey");
  if (apikey === null) {
    if (req.headers.has("Authorization")) return null;
    return Response.json({ message: "No API key found in request" }, { status: 401 });
  }
  if (!knownKeys.has(apikey)) {
    return Response.json(
      { message: "Invalid API key", hint: "Double check your Supabase `anon` or `service_role` API key." },
      { status: 401 },
    );
  }
  return null;
}

/** What GoTrue's router (chi) answers for an unknown path. */
function notFound(): Response {
  return new Response("404 page not found\n", {
    status: 404,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}
