// The local Edge Functions host: every folder in supabase/functions/ (but _shared) runs as its
// own Deno process and is reached at /functions/v1/<name>/…, as on Supabase. The request the
// function sees has the path /<name>/… (what Hono's basePath('/<name>') expects there too).
// verify_jwt from config.toml is honoured the way the platform does it: with it on, a request
// without a valid project JWT never reaches the function (CORS preflights always do).

import { join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { terminate } from "../lib/child.ts";

export interface FunctionSpec {
  name: string;
  entry: string;
  verifyJwt: boolean;
}

/** The functions in a project and their verify_jwt setting (default true, as on Supabase). */
export function discoverFunctions(supabaseDir: string): FunctionSpec[] {
  const configFile = join(supabaseDir, "config.toml");
  const config = existsSync(configFile) ? parseToml(Deno.readTextFileSync(configFile)) : {};
  const settings = (config.functions ?? {}) as Record<string, { verify_jwt?: boolean; entrypoint?: string }>;
  const dir = join(supabaseDir, "functions");
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isDirectory && !e.name.startsWith("_") && !e.name.startsWith("."))
    .map((e) => {
      const own = settings[e.name] ?? {};
      const entry = own.entrypoint ? resolve(supabaseDir, own.entrypoint) : join(dir, e.name, "index.ts");
      return { name: e.name, entry, verifyJwt: own.verify_jwt ?? true };
    })
    .filter((f) => existsSync(f.entry))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The platform's verify_jwt gate: null when the request may pass, else the refusal. */
export async function verifyJwtGate(req: Request, jwks: JSONWebKeySet): Promise<Response | null> {
  if (req.method === "OPTIONS") return null;
  const auth = req.headers.get("authorization") ?? "";
  const token = /^bearer\s+(.+)$/i.exec(auth)?.[1];
  if (!token) return Response.json({ code: 401, message: "Missing authorization header" }, { status: 401 });
  try {
    await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ["ES256", "RS256"] });
    return null;
  } catch {
    return Response.json({ code: 401, message: "Invalid JWT" }, { status: 401 });
  }
}

interface Running {
  spec: FunctionSpec;
  port: number;
  child: Deno.ChildProcess;
}

export class FunctionsHost {
  #running = new Map<string, Running>();
  #stopping = false;

  constructor(
    private specs: FunctionSpec[],
    private env: Record<string, string>,
    private jwks: JSONWebKeySet,
    private denoConfig: string,
  ) {}

  get names(): string[] {
    return this.specs.map((s) => s.name);
  }

  /** Each running function's own process, as `http://127.0.0.1:<port>/<name>` (benchmarks call it
   * without the origin's proxy in between); a function that restarts gets a new port. */
  get directUrls(): Record<string, string> {
    return Object.fromEntries(
      [...this.#running].map(([name, { port }]) => [name, `http://127.0.0.1:${port}/${name}`]),
    );
  }

  async start(): Promise<void> {
    await Promise.all(this.specs.map((s) => this.#spawn(s)));
  }

  async #spawn(spec: FunctionSpec): Promise<void> {
    if (this.#stopping) return;
    const runner = new URL("./function-runner.ts", import.meta.url).pathname;
    // Opt-in CPU profiling (performance work): each function writes <dir>/<name>.cpuprofile,
    // V8's JSON profile, when it stops.
    const profileDir = this.env.NEXUS_FUNCTIONS_CPU_PROF_DIR;
    const profile = profileDir
      ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${spec.name}.cpuprofile`]
      : [];
    // Opt-in heap probe (soak, leak hunting): gc() is exposed, and the runner answers
    // GET /__heap on the function's own port with the heap used after a full collection.
    const heapProbe = this.env.NEXUS_FUNCTIONS_HEAP_PROBE ? ["--v8-flags=--expose-gc"] : [];
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--config",
        this.denoConfig,
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-sys",
        ...profile,
        ...heapProbe,
        runner,
        spec.entry,
      ],
      env: this.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const port = await announcedPort(child, spec.name);
    this.#running.set(spec.name, { spec, port, child });
    child.status.then(async (status) => {
      await new Promise((r) => setTimeout(r, 500));
      if (this.#stopping) return;
      console.error(`[functions] ${spec.name} exited (${status.code}); restarting`);
      this.#running.delete(spec.name);
      this.#spawn(spec).catch((e) => console.error(`[functions] ${spec.name}: ${e}`));
    });
  }

  /** Serves /functions/v1/<name>/… ; null if the path is not a function of this project. */
  async handle(req: Request, url: URL): Promise<Response | null> {
    const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!match) return null;
    const running = this.#running.get(match[1]);
    if (!running) {
      if (!this.specs.some((s) => s.name === match[1])) {
        return Response.json({ code: "NOT_FOUND", message: "Requested function was not found" }, {
          status: 404,
        });
      }
      return Response.json({ code: "BOOT_ERROR", message: "Function failed to start" }, { status: 503 });
    }
    if (running.spec.verifyJwt) {
      const refusal = await verifyJwtGate(req, this.jwks);
      if (refusal) return refusal;
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    headers.set("x-forwarded-host", url.host);
    headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
    const target = `http://127.0.0.1:${running.port}/${match[1]}${match[2] ?? ""}${url.search}`;
    try {
      const res = await fetch(target, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? null : req.body,
        redirect: "manual",
        signal: req.signal,
      });
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (e) {
      if (req.signal.aborted) return new Response(null, { status: 499 });
      return Response.json({ code: "WORKER_ERROR", message: `Function ${match[1]} failed: ${e}` }, {
        status: 502,
      });
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#running.values()].map(({ child }) => terminate(child, 10_000)));
    this.#running.clear();
  }
}

/** Reads the child's stdout until the runner announces its port, then keeps relaying its logs. */
async function announcedPort(child: Deno.ChildProcess, name: string): Promise<number> {
  relay(lineBatches(child.stderr), name, console.error).catch(() => {});
  const batches = lineBatches(child.stdout);
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    while (true) {
      const { value: lines, done } = await batches.next();
      if (done) throw new Error(`function ${name} exited before listening`);
      const at = lines.findIndex((line) => /^NEXUS_LISTENING \d+$/.test(line));
      if (at >= 0) {
        print(lines.slice(0, at), name, console.log);
        print(lines.slice(at + 1), name, console.log);
        relay(batches, name, console.log).catch(() => {});
        return Number(lines[at].slice("NEXUS_LISTENING ".length));
      }
      print(lines, name, console.log);
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** Relays lines with the function's name in front: one write per batch, not per line. */
async function relay(batches: AsyncIterable<string[]>, name: string, log: (s: string) => void) {
  for await (const lines of batches) print(lines, name, log);
}

function print(lines: string[], name: string, log: (s: string) => void) {
  if (lines.length) log(lines.map((line) => `[${name}] ${line}`).join("\n"));
}

/**
 * A process's output as the complete lines each read brings (a last line without a newline
 * comes at the end). Read directly into one reused buffer, rather than through a decoder and a
 * line-splitting stream with a fresh 64 KiB buffer per read: the host relays a line per request
 * of every function.
 */
export async function* lineBatches(stream: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  const reader = stream.getReader({ mode: "byob" });
  const decoder = new TextDecoder();
  let buffer: ArrayBufferLike = new ArrayBuffer(16 * 1024);
  let partial = "";
  while (true) {
    const { done, value }: ReadableStreamReadResult<Uint8Array> = await reader.read(new Uint8Array(buffer));
    if (done) break;
    buffer = value.buffer;
    const text = partial + decoder.decode(value, { stream: true });
    const end = text.lastIndexOf("\n");
    if (end < 0) {
      partial = text;
      continue;
    }
    partial = text.slice(end + 1);
    yield text.slice(0, end).split("\n");
  }
  const rest = partial + decoder.decode();
  if (rest) yield [rest];
}
