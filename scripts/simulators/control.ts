// Fault injection and counters shared by the provider simulators, and the control endpoint that
// exposes them over HTTP (not part of any provider's API):
//
//   POST   /__simulator/faults   body: one rule or an array of rules; REPLACES the current plan
//   GET    /__simulator/faults   the current plan (rules with their remaining counts)
//   DELETE /__simulator/faults   clears the plan (every request behaves normally)
//   GET    /__simulator/stats    counters (see SimulatorStats)
//   DELETE /__simulator/stats    resets the counters
//   POST   /__simulator/pace     {"tokensPerSecond"?, "firstTokenLatencyMs"?}: changes the pacing
//                                of every later request (benchmarks hold streams open with it)
//
// A rule: {"mode": FaultMode, "count"?: N | "always" (default 1), "retryAfterSeconds"?: s,
// "afterTokens"?: n, "model"?: "id"}. Rules are used in order: a generation request takes the
// first rule that still has a count left and whose `model` (if set) equals the request's model,
// and uses up one of its count. So [{"mode":"none","count":2},{"mode":"server_error"}] lets two
// requests through and fails the third. Faults apply to generation requests only (after the
// authentication and body checks), never to model listing or to this endpoint.
//
// Modes (each simulator maps them to its provider's real shapes):
//   none          behave normally (a placeholder that uses up a count)
//   rate_limit    429 with retry-after (retryAfterSeconds, default 1) and rate-limit headers
//   server_error  500
//   unavailable   503 (overloaded); retry-after only if retryAfterSeconds is given
//   cut_stream    send afterTokens content tokens (default 5), then drop the connection with no
//                 end-of-stream marker (non-streaming: half of the JSON body, then drop)
//   stall         send afterTokens tokens, then send nothing more without closing, until the
//                 client gives up or the simulator closes (non-streaming: no answer at all, so
//                 the client's timeout fires; that request is released when the simulator closes)
//   stream_error  send afterTokens tokens, then an error event in the stream, then end it
//                 (non-streaming: 500, like server_error)
//   early_end     send afterTokens tokens, then end the body cleanly with no finish reason, no
//                 end-of-stream marker and no error, as a proxy or a provider's worker that
//                 closes the connection in good order does: only the missing finish tells that
//                 the answer is not whole (non-streaming: the whole answer's JSON without its
//                 finish reason)
//   overloaded    the provider's "overloaded" answer where it has its own (Anthropic: 529
//                 overloaded_error); retry-after only if retryAfterSeconds is given. Simulators of
//                 providers without one should answer as for unavailable.

import { z } from "zod";
import {
  type RequestContext,
  serveSimulator,
  type Simulator,
  type SimulatorOptions,
  type StreamEnd,
} from "./http.ts";

export const FAULT_MODES = [
  "none",
  "rate_limit",
  "bad_request",
  "server_error",
  "unavailable",
  "cut_stream",
  "stall",
  "stream_error",
  "overloaded",
  "early_end",
] as const;
export type FaultMode = typeof FAULT_MODES[number];

const FaultRuleSchema = z.strictObject({
  mode: z.enum(FAULT_MODES),
  count: z.union([z.int().min(1), z.literal("always")]).default(1),
  retryAfterSeconds: z.number().min(0).optional(),
  afterTokens: z.int().min(0).optional(),
  model: z.string().min(1).optional(),
});

export type FaultRuleInput = z.input<typeof FaultRuleSchema>;
export type FaultRule = z.output<typeof FaultRuleSchema>;

/** The fault that applies to one request. */
export interface Fault {
  mode: Exclude<FaultMode, "none">;
  retryAfterSeconds?: number;
  afterTokens: number;
}

export const DEFAULT_AFTER_TOKENS = 5;
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

export class FaultController {
  #rules: FaultRule[] = [];

  /** Replaces the plan. Throws a ZodError on an invalid rule. */
  set(rules: FaultRuleInput | FaultRuleInput[]): FaultRule[] {
    const list = Array.isArray(rules) ? rules : [rules];
    this.#rules = list.map((r) => FaultRuleSchema.parse(r));
    return this.list();
  }

  clear(): void {
    this.#rules = [];
  }

  list(): FaultRule[] {
    return this.#rules.map((r) => ({ ...r }));
  }

  /** Uses up one count of the first matching rule; undefined means "behave normally". */
  take(model: string): Fault | undefined {
    const i = this.#rules.findIndex((r) => r.model === undefined || r.model === model);
    if (i < 0) return undefined;
    const rule = this.#rules[i];
    if (rule.count !== "always") {
      rule.count -= 1;
      if (rule.count <= 0) this.#rules.splice(i, 1);
    }
    if (rule.mode === "none") return undefined;
    return {
      mode: rule.mode,
      retryAfterSeconds: rule.retryAfterSeconds ??
        (rule.mode === "rate_limit" ? DEFAULT_RETRY_AFTER_SECONDS : undefined),
      afterTokens: rule.afterTokens ?? DEFAULT_AFTER_TOKENS,
    };
  }
}

export interface StatsSnapshot {
  /** Requests to the provider API (control requests are not counted). */
  requests: number;
  /** Responses by HTTP status, e.g. {"200": 3, "429": 1}. */
  byStatus: Record<string, number>;
  /** Faults applied, by mode. */
  faults: Record<string, number>;
  /**
   * Streamed responses: started, completed (end marker sent), cut, stalled, errored, ended early
   * (closed cleanly before the finish: early_end), aborted by the client.
   */
  streams: {
    started: number;
    completed: number;
    cut: number;
    stalled: number;
    errored: number;
    endedEarly: number;
    aborted: number;
  };
  /** Streams or delayed responses still running. */
  active: number;
  /** Token totals over the completed generations (streamed or not). */
  tokens: { prompt: number; completion: number };
}

export class SimulatorStats {
  #s: StatsSnapshot = SimulatorStats.#empty();
  active = 0;

  static #empty(): StatsSnapshot {
    return {
      requests: 0,
      byStatus: {},
      faults: {},
      streams: { started: 0, completed: 0, cut: 0, stalled: 0, errored: 0, endedEarly: 0, aborted: 0 },
      active: 0,
      tokens: { prompt: 0, completion: 0 },
    };
  }

  request(): void {
    this.#s.requests++;
  }
  status(code: number): void {
    this.#s.byStatus[code] = (this.#s.byStatus[code] ?? 0) + 1;
  }
  fault(mode: string): void {
    this.#s.faults[mode] = (this.#s.faults[mode] ?? 0) + 1;
  }
  stream(event: keyof StatsSnapshot["streams"]): void {
    this.#s.streams[event]++;
  }
  tokens(prompt: number, completion: number): void {
    this.#s.tokens.prompt += prompt;
    this.#s.tokens.completion += completion;
  }
  reset(): void {
    this.#s = SimulatorStats.#empty();
  }
  snapshot(): StatsSnapshot {
    return structuredClone({ ...this.#s, active: this.active });
  }

  /**
   * Counts a streamed answer starting now; the callback returned (ctx.stream's onEnd) counts how
   * it ended: completed with its tokens, unless an error event was sent in it or it was closed
   * before its finish (`endedEarly`), or cut, errored, aborted. `tokens` gives the billed
   * [prompt, completion] tokens once it completed.
   */
  streamStarted(
    errored: () => boolean,
    tokens: () => [number, number],
    endedEarly: () => boolean = () => false,
  ): (end: StreamEnd) => void {
    this.stream("started");
    this.active++;
    return (end) => {
      this.active--;
      if (end === "completed") {
        if (errored()) this.stream("errored");
        else if (endedEarly()) this.stream("endedEarly");
        else {
          this.stream("completed");
          this.tokens(...tokens());
        }
      } else if (end === "cut") this.stream("cut");
      else if (end === "failed") this.stream("errored");
      else this.stream("aborted");
    };
  }
}

export const CONTROL_PREFIX = "/__simulator/";

const PaceInput = z.strictObject({
  tokensPerSecond: z.number().min(0).optional(),
  firstTokenLatencyMs: z.number().min(0).optional(),
});

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Answers a control request (path under CONTROL_PREFIX); errors use the `{"error": …}` shape. */
export async function handleControl(
  req: Request,
  path: string,
  faults: FaultController,
  stats: SimulatorStats,
  pace: { tokensPerSecond?: number; firstTokenLatencyMs?: number },
): Promise<Response> {
  const route = `${req.method} ${path.slice(CONTROL_PREFIX.length - 1)}`;
  switch (route) {
    case "GET /faults":
      return json({ faults: faults.list() });
    case "DELETE /faults":
      faults.clear();
      return json({ faults: [] });
    case "POST /faults": {
      let body: unknown;
      try {
        body = await req.json();
      } catch {
        return json({ error: { message: "Body must be JSON", type: "invalid_request_error" } }, 400);
      }
      try {
        return json({ faults: faults.set(body as FaultRuleInput) });
      } catch (e) {
        const message = e instanceof z.ZodError ? z.prettifyError(e) : String(e);
        return json({ error: { message, type: "invalid_request_error" } }, 400);
      }
    }
    case "POST /pace": {
      const parsed = PaceInput.safeParse(await req.json().catch(() => null));
      if (!parsed.success) {
        return json(
          { error: { message: z.prettifyError(parsed.error), type: "invalid_request_error" } },
          400,
        );
      }
      Object.assign(pace, parsed.data);
      return json({ tokensPerSecond: pace.tokensPerSecond, firstTokenLatencyMs: pace.firstTokenLatencyMs });
    }
    case "GET /stats":
      return json(stats.snapshot());
    case "DELETE /stats":
      stats.reset();
      return json(stats.snapshot());
    default:
      return json({ error: { message: `No simulator control route ${route}`, type: "not_found" } }, 404);
  }
}

/** How one simulator answers, for serveProvider. */
export interface ProviderRoutes {
  /** The simulator's name, in its log lines. */
  name: string;
  opts: SimulatorOptions;
  /** The path its official SDK's base URL ends with ("" for the origin, "/v1" for OpenAI's). */
  basePath?: string;
  faults: FaultController;
  stats: SimulatorStats;
  /** The provider's API. */
  route(req: Request, ctx: RequestContext, url: URL): Promise<Response>;
  /** A 500 in the provider's own error shape, for an unexpected error of the simulator. */
  serverError(message: string): Response;
  /** A last touch on every API answer (a flavor's header, say). */
  decorate?(res: Response): void;
}

/**
 * Serves a provider simulator: the control endpoints (CONTROL_PREFIX), then the provider's API
 * with every request and answer status counted, an unexpected error answered as a 500 in the
 * provider's shape.
 */
export function serveProvider(routes: ProviderRoutes): Promise<Simulator> {
  const { faults, stats, opts } = routes;
  const server = serveSimulator(opts.port ?? 0, async (req, ctx) => {
    const url = new URL(req.url);
    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      return await handleControl(req, url.pathname, faults, stats, opts);
    }
    stats.request();
    let res: Response;
    try {
      res = await routes.route(req, ctx, url);
    } catch (e) {
      console.error(`${routes.name} simulator: unexpected error`, e);
      res = routes.serverError(String(e));
    }
    routes.decorate?.(res);
    stats.status(res.status);
    return res;
  });
  return Promise.resolve({
    url: `http://127.0.0.1:${server.port}${routes.basePath ?? ""}`,
    port: server.port,
    close: () => server.close(),
    faults,
    stats: () => stats.snapshot(),
  });
}
