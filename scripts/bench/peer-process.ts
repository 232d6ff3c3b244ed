// A peer server for the gateway bench, run as its own process (as a gateway is deployed) on a
// loopback port the OS chose: it announces the port as "NEXUS_LISTENING <port>" on stdout.
// stderr goes to .local/bench-<name>.log; stdout is drained after the announcement (a full
// pipe would block the server).

import { join } from "node:path";
import { ROOT } from "../lib/stack-process.ts";
import { sleep } from "./stats.ts";
import { terminate } from "../lib/child.ts";

export interface Peer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startPeer(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Peer> {
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const logFile = join(ROOT, ".local", `bench-${name}.log`);
  const log = await Deno.open(logFile, { write: true, create: true, truncate: true });
  const stop = async () => {
    await terminate(child, 5_000);
    log.close();
  };
  child.stderr.pipeTo(log.writable, { preventClose: true }).catch(() => {});

  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let port: number | undefined;
  const deadline = Date.now() + 30_000;
  while (port === undefined) {
    const r = await Promise.race([reader.read(), sleep(Math.max(0, deadline - Date.now())).then(() => null)]);
    if (!r || r.done) {
      await stop();
      throw new Error(`${name} did not start (see ${logFile}): ${seen.slice(-500)}`);
    }
    seen += r.value;
    const match = /NEXUS_LISTENING (\d+)/.exec(seen);
    if (match) port = Number(match[1]);
  }
  (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) { /* discard */ }
  })().catch(() => {});

  const url = `http://127.0.0.1:${port}`;
  while (!(await fetch(url).then((r) => (r.body?.cancel(), true), () => false))) {
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not answer on its port`);
    }
    await sleep(100);
  }
  return { url, pid: child.pid, stop };
}
