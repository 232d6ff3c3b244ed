// Runs the local stack as a child process for the test runner and the benchmarks: a fresh
// database (--reset) in its own state dir and ports, ready when its stack.json appears.

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { terminate } from "./child.ts";

export const ROOT = resolve(new URL("../..", import.meta.url).pathname);

export interface StackProcess {
  pid: number;
  stackFile: string;
  info: {
    apiUrl: string;
    webUrl: string;
    dbUrl: string;
    anonKey: string;
    serviceRoleKey: string;
    simulators: Record<string, string>;
  };
  stop(): Promise<void>;
}

export async function startStack(opts: {
  name: string;
  ports: { api: string; db: string; web: string };
  env?: Record<string, string>;
}): Promise<StackProcess> {
  const stateDir = join(ROOT, ".local", opts.name);
  const stackFile = join(stateDir, "stack.json");
  await Deno.mkdir(stateDir, { recursive: true });
  await Deno.remove(stackFile).catch(() => {});
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      join(ROOT, "deno.json"),
      join(ROOT, "scripts/stack/main.ts"),
      "--reset",
      "--state-dir",
      stateDir,
      "--api-port",
      opts.ports.api,
      "--db-port",
      opts.ports.db,
      "--web-port",
      opts.ports.web,
    ],
    cwd: ROOT,
    env: opts.env ?? {},
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // The stack's logs go to a file (they would drown the caller's output); its errors still show.
  const log = await Deno.open(join(ROOT, ".local", `${opts.name}-stack.log`), {
    write: true,
    create: true,
    truncate: true,
  });
  // Written chunk by chunk as it comes (FsFile.writable would hold it back), so tests can read
  // a request's log lines while the stack runs.
  (async () => {
    for await (const chunk of child.stdout) {
      for (let at = 0; at < chunk.length;) at += await log.write(chunk.subarray(at));
    }
  })().catch(() => {});
  let exited = false;
  child.status.then(() => (exited = true));

  const stop = () => terminate(child, 30_000);

  const deadline = Date.now() + 180_000;
  while (!existsSync(stackFile)) {
    if (exited) throw new Error(`the stack exited before it was ready (see .local/${opts.name}-stack.log)`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error("the stack did not become ready within 3 minutes");
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { pid: child.pid, stackFile, info: JSON.parse(await Deno.readTextFile(stackFile)), stop };
}
