// The local edge runtime's worker retirement: on SIGTERM the function hears `beforeunload` (as
// Supabase's runtime announces a worker's end), a stream in flight can end itself then, and
// background work (EdgeRuntime.waitUntil) finishes before the process exits, within the grace.

import assert from "node:assert/strict";
import { join } from "node:path";

const RUNNER = new URL("../../scripts/stack/function-runner.ts", import.meta.url).pathname;
const DENO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

// A function with an endless stream that ends itself on beforeunload and then records, in the
// background, that it did (the way the chat function ends and bills its streams).
const FUNCTION = `
const done = Deno.args.at(-1);
let end;
addEventListener("beforeunload", (e) => end?.(e.detail?.reason ?? "none"));
Deno.serve(() => new Response(new ReadableStream({
  start(controller) {
    controller.enqueue(new TextEncoder().encode("started\\n"));
    end = (reason) => {
      controller.enqueue(new TextEncoder().encode("ended: " + reason + "\\n"));
      controller.close();
      EdgeRuntime.waitUntil(new Promise((r) => setTimeout(r, 300)).then(() => Deno.writeTextFile(done, reason)));
    };
  },
})));
`;

Deno.test("SIGTERM: beforeunload (reason termination) reaches the function, its background work finishes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const entry = join(dir, "index.ts");
    const done = join(dir, "done.txt");
    await Deno.writeTextFile(entry, FUNCTION);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--config", DENO_CONFIG, "-A", RUNNER, entry, done],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/NEXUS_LISTENING (\d+)/.test(out)) out += (await lines.read()).value ?? "";
    const port = out.match(/NEXUS_LISTENING (\d+)/)![1];

    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) }); // bounded
    const body = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await body.read()).value, "started\n");
    child.kill("SIGTERM");
    let rest = "";
    for (let r = await body.read(); !r.done; r = await body.read()) rest += r.value;
    assert.equal(rest, "ended: termination\n", "the stream in flight was told and ended itself");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000); // bounded, should it hang
    const status = await child.status;
    clearTimeout(killer);
    assert.equal(status.code, 0);
    assert.equal(
      await Deno.readTextFile(done),
      "termination",
      "its background work finished before the exit",
    );
    await lines.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
