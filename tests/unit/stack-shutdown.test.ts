// The local stack's shutdown (scripts/stack/shutdown.ts): once however many signals arrive,
// cleanups in reverse order of setup, and a cleanup that never ends or fails does not keep the
// others from running or the stack from exiting.

import assert from "node:assert/strict";
import { type Cleanup, createShutdown } from "../../scripts/stack/shutdown.ts";

function harness(cleanups: Cleanup[], cleanupTimeoutMs?: number) {
  const logged: string[] = [];
  const exits: number[] = [];
  const shutdown = createShutdown(cleanups, {
    cleanupTimeoutMs,
    log: (m) => logged.push(m),
    exit: (code) => exits.push(code),
  });
  return { shutdown, logged, exits };
}

Deno.test("a second signal while stopping joins the shutdown under way instead of starting another", async () => {
  const ran: string[] = [];
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const { shutdown, logged, exits } = harness([
    { name: "postgres", run: () => Promise.resolve(void ran.push("postgres")) },
    {
      name: "functions",
      run: async () => {
        ran.push("functions");
        await slow;
      },
    },
    { name: "web", run: () => Promise.resolve(void ran.push("web")) },
  ]);
  const first = shutdown(0);
  const second = shutdown(1); // SIGTERM (or the relayed SIGINT) while the functions stop
  assert.equal(second, first, "the same shutdown");
  release();
  await Promise.all([first, second]);
  assert.deepEqual(ran, ["web", "functions", "postgres"], "each cleanup once, in reverse order of setup");
  assert.deepEqual(exits, [0], "one exit, with the first signal's code");
  assert.deepEqual(logged, ["stopping…", "already stopping…"]);
});

Deno.test("a cleanup that never finishes is left behind after its time; the rest run and the stack exits", async () => {
  const ran: string[] = [];
  const errors: string[] = [];
  const originalError = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    const { shutdown, exits } = harness([
      { name: "postgres", run: () => Promise.resolve(void ran.push("postgres")) },
      { name: "API server", run: () => new Promise<void>(() => ran.push("stuck server")) }, // never settles
      { name: "realtime", run: () => Promise.reject(new Error("already closed")) },
      { name: "web server", run: () => Promise.resolve(void ran.push("web")) },
    ], 20);
    await shutdown(0);
    assert.deepEqual(ran, ["web", "stuck server", "postgres"]);
    assert.deepEqual(exits, [0]);
    assert.deepEqual(errors, [
      "[stack] stopping realtime: Error: already closed",
      "[stack] stopping API server: still running after 20 ms; moving on",
    ]);
  } finally {
    console.error = originalError;
  }
});
