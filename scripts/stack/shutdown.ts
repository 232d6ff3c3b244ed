// Stopping the local stack: the cleanups in reverse order of setup, once, then exit. Ctrl-C in a
// terminal signals the whole process group, so the stack gets SIGINT from the terminal and again
// from `npm start`'s relay (scripts/run.mjs): a second signal must not start a second shutdown
// (two pg_ctl stops, two server shutdowns racing). And a cleanup that never finishes (a server
// waiting for a connection that stays open) must not keep the stack from exiting: each gets a
// bounded time, then the next one runs.

export interface ShutdownOptions {
  /** Longest wait for one cleanup (default 15 s: the functions host gives a child 10 s before SIGKILL). */
  cleanupTimeoutMs?: number;
  log?: (message: string) => void;
  exit?: (code: number) => void;
}

export interface Cleanup {
  /** What it stops, for the log. */
  name: string;
  run: () => Promise<unknown>;
}

export function createShutdown(cleanups: Cleanup[], options: ShutdownOptions = {}) {
  const timeoutMs = options.cleanupTimeoutMs ?? 15_000;
  const log = options.log ?? ((m) => console.log(`[stack] ${m}`));
  const exit = options.exit ?? ((code) => Deno.exit(code));
  let stopping: Promise<void> | undefined;

  async function run(code: number) {
    log("stopping…");
    for (const cleanup of [...cleanups].reverse()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<"stuck">((resolve) => {
        timer = setTimeout(() => resolve("stuck"), timeoutMs);
      });
      const outcome = await Promise.race([
        cleanup.run().then(() => "done" as const, (e) => {
          console.error(`[stack] stopping ${cleanup.name}: ${e}`);
          return "failed" as const;
        }),
        stuck,
      ]);
      clearTimeout(timer);
      if (outcome === "stuck") {
        console.error(`[stack] stopping ${cleanup.name}: still running after ${timeoutMs} ms; moving on`);
      }
    }
    exit(code);
  }

  /** Starts the shutdown; later calls (another signal) return the one under way. */
  return function shutdown(code = 0): Promise<void> {
    if (stopping) {
      log("already stopping…");
      return stopping;
    }
    stopping = run(code);
    return stopping;
  };
}
