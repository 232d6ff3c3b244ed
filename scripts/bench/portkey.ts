// The peer gateway: the open-source Portkey AI gateway (@portkey-ai/gateway, a devDependency),
// run as its own Node server (its published CLI, build/start-server.js) on a loopback port, in
// its production mode without the log UI. Clients pick the upstream per request with
// `x-portkey-provider: openai` and `x-portkey-custom-host: <simulated OpenAI>/v1`.

import { join } from "node:path";
import { ROOT } from "../lib/stack-process.ts";
import { sleep } from "./stats.ts";

export interface Portkey {
  url: string;
  stop(): Promise<void>;
}

export async function startPortkey(): Promise<Portkey> {
  const entry = join(ROOT, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  const preload = new URL("./portkey-loopback.mjs", import.meta.url).href;
  const child = new Deno.Command("node", {
    args: ["--import", preload, entry, "--port=0", "--headless"],
    cwd: ROOT,
    env: { NODE_ENV: "production" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = await Deno.open(join(ROOT, ".local", "bench-portkey.log"), {
    write: true,
    create: true,
    truncate: true,
  });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await child.status;
    clearTimeout(timer);
    log.close();
  };
  child.stderr.pipeTo(log.writable, { preventClose: true }).catch(() => {});

  // Read stdout until the preload announces the port, then keep draining it (a full pipe would
  // block the server).
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let port: number | undefined;
  const deadline = Date.now() + 30_000;
  while (port === undefined) {
    const r = await Promise.race([reader.read(), sleep(Math.max(0, deadline - Date.now())).then(() => null)]);
    if (!r || r.done) {
      await stop();
      throw new Error(`Portkey did not start (see .local/bench-portkey.log): ${seen.slice(-500)}`);
    }
    seen += r.value;
    const match = /NEXUS_LISTENING (\d+)/.exec(seen);
    if (match) port = Number(match[1]);
  }
  (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) { /* discard */ }
  })().catch(() => {});

  const url = `http://127.0.0.1:${port}`;
  while (!(await fetch(url).then((r) => (r.body?.cancel(), r.ok), () => false))) {
    if (Date.now() > deadline) {
      await stop();
      throw new Error("Portkey did not answer on its port");
    }
    await sleep(100);
  }
  return { url, stop };
}
