// HTTP plumbing shared by the provider simulators: a loopback server whose close() ends every
// running stream first (so nothing stays pending), abortable pacing, a pull-based streamed body
// driven by an async generator (stops on client disconnect), and the common CLI flags.

import type { FaultController, StatsSnapshot } from "./control.ts";

export interface SimulatorOptions {
  /** Port on 127.0.0.1; 0 (default) lets the OS choose. */
  port?: number;
  /** Delay before the first token (and before a non-streamed answer), ms. Default 200. */
  firstTokenLatencyMs?: number;
  /** Token rate after the first token; 0 or Infinity = no pacing. Default 80. */
  tokensPerSecond?: number;
  /** Token budget of a simulated reply before any max_tokens truncation. Default 40. */
  maxReplyTokens?: number;
}

export interface Simulator {
  /** Base URL for the provider's official SDK (e.g. http://127.0.0.1:PORT/v1 for OpenAI). */
  url: string;
  port: number;
  /** Ends running streams, stops listening, and resolves once nothing is left pending. */
  close(): Promise<void>;
  /** In-process access to the fault plan (same as the /__simulator/faults endpoint). */
  faults: FaultController;
  /** Counters (same as GET /__simulator/stats). */
  stats(): StatsSnapshot;
}

export const DEFAULT_FIRST_TOKEN_LATENCY_MS = 200;
export const DEFAULT_TOKENS_PER_SECOND = 80;

/** Thrown inside a stream generator to drop the connection without an end-of-stream marker. */
export class CutStream extends Error {
  constructor() {
    super("simulated connection drop");
    this.name = "CutStream";
  }
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts (timer cleared). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits until the signal aborts (then rejects with its reason). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** Effective pacing for one request: the options, overridden by x-simulator-* request headers. */
export interface Pacing {
  firstTokenLatencyMs: number;
  /** ms between tokens; 0 = no pacing. */
  msPerToken: number;
}

export function pacingFor(opts: SimulatorOptions, headers: Headers): Pacing {
  const num = (name: string) => {
    const v = headers.get(name);
    if (v === null || v.trim() === "") return undefined;
    const n = Number(v); // "Infinity" is allowed (no pacing); NaN and negatives are ignored
    return n >= 0 ? n : undefined;
  };
  const latency = num("x-simulator-latency-ms") ?? opts.firstTokenLatencyMs ?? DEFAULT_FIRST_TOKEN_LATENCY_MS;
  const tps = num("x-simulator-tps") ?? opts.tokensPerSecond ?? DEFAULT_TOKENS_PER_SECOND;
  return {
    firstTokenLatencyMs: Number.isFinite(latency) ? latency : 0,
    msPerToken: tps > 0 && Number.isFinite(tps) ? 1000 / tps : 0,
  };
}

/** What happened to a streamed body, reported once when it ends. */
export type StreamEnd = "completed" | "cut" | "aborted" | "closed" | "failed";

/** Context handed to each request handler. */
export interface RequestContext {
  /**
   * Aborts when the simulator closes. (Not on client disconnect: reading Deno.serve's
   * request.signal prints a legacy-behaviour warning, so waits before the response headers are
   * bounded or end at close(); streamed bodies do stop when the client disconnects.)
   */
  signal: AbortSignal;
  /**
   * A streamed body produced by `frames` (each yielded string is written as one piece). Pulls the
   * next frame only when the client is ready; stops the generator when the client disconnects.
   * Throwing CutStream from the generator drops the connection without a clean end.
   */
  stream(
    frames: (signal: AbortSignal) => AsyncGenerator<string>,
    onEnd?: (end: StreamEnd) => void,
  ): ReadableStream<Uint8Array>;
}

export type Handler = (req: Request, ctx: RequestContext) => Promise<Response>;

/** Starts a loopback server for a simulator. */
export function serveSimulator(port: number, handler: Handler, onError?: (e: unknown) => Response): {
  port: number;
  close(): Promise<void>;
} {
  const closing = new AbortController();
  const encoder = new TextEncoder();
  let closed: Promise<void> | undefined;

  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port,
      onListen: () => {},
      onError: (e) => onError?.(e) ?? new Response("simulator error", { status: 500 }),
    },
    (req) => {
      const ctx: RequestContext = {
        signal: closing.signal,
        stream(frames, onEnd) {
          // cancel() (client gone) and close() both abort the generator's waits.
          const local = new AbortController();
          const streamSignal = AbortSignal.any([local.signal, closing.signal]);
          const it = frames(streamSignal);
          let ended = false;
          const end = (how: StreamEnd) => {
            if (ended) return;
            ended = true;
            onEnd?.(how);
          };
          return new ReadableStream<Uint8Array>({
            async pull(controller) {
              try {
                const { value, done } = await it.next();
                if (done) {
                  end("completed");
                  controller.close();
                } else {
                  controller.enqueue(encoder.encode(value));
                }
              } catch (e) {
                if (local.signal.aborted) {
                  end("aborted"); // cancel() already ran; the stream is gone
                  return;
                }
                end(closing.signal.aborted ? "closed" : e instanceof CutStream ? "cut" : "failed");
                controller.error(e); // drops the connection: no clean end of the body
              }
            },
            async cancel(reason) {
              local.abort(reason ?? new DOMException("client disconnected", "AbortError"));
              end("aborted");
              await it.return(undefined).catch(() => {});
            },
          });
        },
      };
      return handler(req, ctx);
    },
  );

  return {
    port: server.addr.port,
    close() {
      closed ??= (async () => {
        closing.abort(new DOMException("simulator closing", "AbortError"));
        await server.shutdown();
      })();
      return closed;
    },
  };
}

/** A 200 answer whose body breaks off at once, with no clean end (a simulator closing mid-wait). */
export function droppedResponse(ctx: RequestContext, headers: HeadersInit): Response {
  return new Response(
    ctx.stream(async function* () {
      yield "";
      throw new CutStream();
    }),
    { headers },
  );
}

/** Parses the common CLI flags: --port, --tps, --first-token-ms, --reply-tokens (`--x v` or `--x=v`). */
export function parseSimulatorArgs(args: string[]): SimulatorOptions {
  const flags: Record<string, keyof SimulatorOptions> = {
    port: "port",
    tps: "tokensPerSecond",
    "first-token-ms": "firstTokenLatencyMs",
    "reply-tokens": "maxReplyTokens",
  };
  const opts: SimulatorOptions = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    const key = m ? flags[m[1]] : undefined;
    if (!m || !key) {
      throw new Error(
        `Unknown argument ${args[i]} (flags: ${Object.keys(flags).map((f) => "--" + f).join(", ")})`,
      );
    }
    const v = m[2] ?? args[++i];
    const n = Number(v);
    if (v === undefined || !(n >= 0)) throw new Error(`--${m[1]} must be a number >= 0, got ${v}`);
    opts[key] = n;
  }
  return opts;
}

/** Runs a simulator from the command line until SIGINT/SIGTERM. */
export async function runSimulatorCli(
  name: string,
  start: (opts: SimulatorOptions) => Promise<Simulator>,
): Promise<void> {
  const sim = await start(parseSimulatorArgs(Deno.args));
  console.log(`${name} simulator listening on ${sim.url}`);
  const { promise, resolve } = Promise.withResolvers<void>();
  const stop = () => resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await sim.close();
}
