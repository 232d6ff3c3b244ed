// The peer gateway: the open-source Portkey AI gateway (@portkey-ai/gateway, a devDependency),
// run as its own Node server (its published CLI, build/start-server.js) on a loopback port, in
// its production mode without the log UI. Clients pick the upstream per request with
// `x-portkey-provider: openai` and `x-portkey-custom-host: <simulated OpenAI>/v1`.

import { join } from "node:path";
import { ROOT } from "../lib/stack-process.ts";
import { type Peer, startPeer } from "./peer-process.ts";

export function startPortkey(): Promise<Peer> {
  const entry = join(ROOT, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  // binds it to 127.0.0.1 and announces the port (its CLI takes a port but no host)
  const preload = new URL("./portkey-loopback.mjs", import.meta.url).href;
  return startPeer("portkey", "node", ["--import", preload, entry, "--port=0", "--headless"], {
    NODE_ENV: "production",
  });
}
