// What every function's Hono app shares: its base path (/<function-name>, as the edge runtime
// routes), CORS for browsers, a request id (X-Request-Id, on every log line of the request),
// one access-log line per request, the body-size limit, and one error renderer for the API's
// error contract (refusals are counted for the metrics).

import { Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { bodyLimit } from "hono/body-limit";
import { ApiError, errorResponse } from "./errors.ts";
import { USER_CONTEXT_HEADERS, userContextHeaders } from "./user-context.ts";
import { quotaOf } from "../metering.ts";
import { env } from "../env.ts";
import { bearerToken, type UserClaims, verifyAccessToken } from "../auth/verify.ts";
import { ServerTiming } from "./server-timing.ts";
import { log, withRequestScope } from "../observability/log.ts";
import { isDatabaseUnavailable, isDeletedMeanwhile } from "../db.ts";
import { countRefusal, setRecorderFunction } from "../observability/recorder.ts";

export type AppEnv = {
  Variables: { user: UserClaims; requestId: string; timing: ServerTiming; keyHash?: string };
};

export interface AppOptions {
  /** How an error is written (default: the API's `{"error":{"code","message","details"}}`). */
  errorBody?: (error: ApiError) => unknown;
}

/** What browsers may send and read (hono's cors() options). */
export const CORS_OPTIONS = {
  origin: "*",
  allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
  allowHeaders: [
    "authorization",
    "x-client-info",
    "apikey",
    "content-type",
    "idempotency-key",
    "x-supabase-api-version",
  ],
  exposeHeaders: [...USER_CONTEXT_HEADERS, "Retry-After", "X-Should-Retry", "X-Request-Id", "Server-Timing"],
  maxAge: 86400,
};

export function createApp(functionName: string, options: AppOptions = {}): Hono<AppEnv> {
  const render = (error: ApiError, headers: HeadersInit) =>
    options.errorBody
      ? errorResponse(error, headers, options.errorBody(error))
      : errorResponse(error, headers);
  // strict: false, so /account and /account/ are the same endpoint
  const app = new Hono<AppEnv>({ strict: false }).basePath(`/${functionName}`);
  setRecorderFunction(functionName);

  app.use("*", (c, next) => {
    const requestId = crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("timing", new ServerTiming());
    const started = performance.now();
    return withRequestScope(functionName, requestId, async () => {
      await next();
      // An idempotent replay keeps the id of the request whose answer it repeats: its access
      // line names that id too, the one the client sees.
      const answeredAs = c.res.headers.get("X-Request-Id");
      if (!answeredAs) c.res.headers.set("X-Request-Id", requestId);
      // For streams this is when the headers went out; the stream's end is logged with its metering.
      log.infoAfterResponse("request", {
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        userId: c.get("user")?.sub,
        ...(answeredAs && answeredAs !== requestId ? { replayOf: answeredAs } : {}),
      });
    });
  });

  const preflight = cors(CORS_OPTIONS);
  const exposed = CORS_OPTIONS.exposeHeaders.join(",");
  // CORS, after the request id (so preflights get one, and an access line, too): preflights are
  // answered by hono's cors(); every other response gets the same two headers cors() would give
  // it, set once the response exists. (cors() sets them on a placeholder response before the
  // handler runs, and Hono then rebuilds the handler's response around them: a second Response
  // and a header copy on every request.)
  app.use("*", async (c, next) => {
    if (c.req.method === "OPTIONS") return preflight(c, next);
    await next();
    c.res.headers.set("Access-Control-Allow-Origin", "*");
    c.res.headers.set("Access-Control-Expose-Headers", exposed);
  });

  app.use(
    "*",
    bodyLimit({
      maxSize: env.maxBodyBytes,
      onError: () => {
        throw new ApiError("payload_too_large", `Request body is larger than ${env.maxBodyBytes} bytes`);
      },
    }),
  );

  app.onError(async (err, c) => {
    // A row the request refers to was deleted while it ran (a conversation deleted as a member
    // is added to it, or as a chat is admitted into it): what the request names is gone.
    if (isDeletedMeanwhile(err)) {
      log.warn("refers to a deleted row", { error: String(err) });
      err = new ApiError("not_found", "Not found: it was deleted while the request ran");
    }
    if (err instanceof ApiError) {
      if (err.status < 500) countRefusal(err.code);
      // RFC 6750 §3: every 401 names the scheme, wherever the refusal was decided (a token here,
      // an API key or a deleted user deeper in).
      if (err.status === 401 && !("WWW-Authenticate" in err.headers)) {
        err.headers["WWW-Authenticate"] = "Bearer";
      }
      // Every authenticated response carries the user context, refusals included.
      const user = c.get("user");
      if (user && !("X-User-Tier" in err.headers)) {
        const quota = await quotaOf(user.sub).catch(() => null);
        if (quota) Object.assign(err.headers, userContextHeaders(quota));
      }
      return render(err, { "X-Request-Id": c.get("requestId") ?? "" });
    }
    if (isDatabaseUnavailable(err)) {
      log.warn("database unavailable", { error: String(err) });
      return render(
        new ApiError(
          "service_unavailable",
          "The service is briefly unavailable; retry in a moment",
          undefined,
          {
            "Retry-After": "2",
          },
        ),
        { "X-Request-Id": c.get("requestId") ?? "" },
      );
    }
    log.error("unhandled", { error: String(err), stack: (err as Error).stack });
    return errorResponse(new ApiError("internal_error", "Internal error"), {
      "X-Request-Id": c.get("requestId") ?? "",
    });
  });

  app.notFound(() => {
    countRefusal("not_found"); // as every other 4xx (onError does not see this one)
    return render(new ApiError("not_found", "No such endpoint"), {});
  });
  return app;
}

/** Middleware: a verified user, or 401. */
export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("user", await verifyAccessToken(bearerToken(c.req.raw)));
  c.get("timing").mark("auth");
  await next();
};
