// `npm start`'s promises: it runs as the README says (node scripts/run.mjs start), writes
// stack.json, passes provider env vars to the functions unchanged, stops every process it
// started on Ctrl-C, keeps the data across restarts, and `--reset` starts from empty.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createClient } from "@supabase/supabase-js";
import { startOpenAISimulator } from "../../scripts/simulators/openai.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const STATE = join(ROOT, ".local", "lifecycle-test");
// Beside the test stack's own ports (NEXUS_TEST_*_PORT), so runs on other ports do not collide.
const BASE_PORT = Number(Deno.env.get("NEXUS_TEST_API_PORT") ?? "25431") + 30;
const PORTS = { api: String(BASE_PORT), db: String(BASE_PORT + 1), web: String(BASE_PORT + 2) };
const opts = { sanitizeResources: false, sanitizeOps: false };

/** Every process below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = [];
  const walk = (p: number) => (parents.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

/** Stacks still running; a failing test stops them so none outlives it. */
const running = new Set<Deno.ChildProcess>();

async function start(args: string[], env: Record<string, string> = {}) {
  await Deno.remove(join(STATE, "stack.json")).catch(() => {});
  const child = new Deno.Command("node", {
    args: [
      join(ROOT, "scripts/run.mjs"),
      "start",
      "--state-dir",
      STATE,
      "--api-port",
      PORTS.api,
      "--db-port",
      PORTS.db,
      "--web-port",
      PORTS.web,
      ...args,
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) output += new TextDecoder().decode(c);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  child.status.then(() => (exited = true));
  running.add(child);
  const deadline = Date.now() + 120_000;
  while (!existsSync(join(STATE, "stack.json"))) {
    if (exited || Date.now() > deadline) throw new Error(`stack not ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const info = JSON.parse(await Deno.readTextFile(join(STATE, "stack.json")));
  return {
    child,
    info,
    output: () => output,
    /**
     * Ctrl-C. `fromTerminal`: as a terminal sends it, to the whole process group, so the stack
     * gets SIGINT twice (from the terminal and relayed by `npm start`'s runner).
     */
    async interrupt({ fromTerminal = false } = {}) {
      const family = [child.pid, ...descendants(child.pid)];
      const postmaster = Number(
        (await Deno.readTextFile(join(STATE, "db", "postmaster.pid"))).split("\n")[0],
      );
      child.kill("SIGINT");
      if (fromTerminal) {
        const stack = descendants(child.pid).find((pid) => parentOf(pid) === child.pid)!;
        Deno.kill(stack, "SIGINT");
      }
      const status = await child.status;
      running.delete(child);
      await drained;
      return { status, family, postmaster };
    },
  };
}

async function waitGone(pids: number[], ms = 15_000) {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

Deno.test({
  name: "npm start: runs, passes provider env through, stops everything, keeps data, --reset empties",
  ...opts,
  fn: async () => {
    // A provider "with a key": our own server standing in for it, so we can see the calls arrive.
    const provider = await startOpenAISimulator({ port: 0, tokensPerSecond: 0, firstTokenLatencyMs: 0 });
    try {
      const first = await start(["--reset"], {
        OPENAI_API_KEY: "sk-test-passthrough",
        OPENAI_BASE_URL: provider.url,
      });
      const { info } = first;
      for (const key of ["apiUrl", "webUrl", "dbUrl", "anonKey", "serviceRoleKey"]) assert.ok(info[key], key);
      assert.match(first.output(), /NEXUS AI is running/);
      assert.match(first.output(), new RegExp(info.apiUrl.replace(/[.:/]/g, "\\$&")));

      const client = createClient(info.apiUrl, info.anonKey, { auth: { persistSession: false } });
      const email = `life-${crypto.randomUUID().slice(0, 8)}@example.test`;
      const { data, error } = await client.auth.signUp({ email, password: "lifecycle-password" });
      assert.equal(error, null);

      const res = await fetch(`${info.apiUrl}/functions/v1/chat`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${data.session!.access_token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          messages: [{ role: "user", content: "through the real key" }],
          model: "gpt-4o-mini",
          stream: false,
        }),
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).simulated, false, "a provider with a key answers for real");
      assert.equal(provider.stats().requests >= 1, true, "the call reached the configured OPENAI_BASE_URL");
      const models = await fetch(`${info.apiUrl}/functions/v1/models`, {
        headers: { authorization: `Bearer ${data.session!.access_token}` },
      });
      const mini = (await models.json()).data.find((m: { id: string }) => m.id === "gpt-4o-mini");
      assert.equal(mini.simulated, false, "a provider with a key is not simulated");

      const web = await fetch(info.webUrl);
      assert.equal(web.status, 200);
      assert.match(await web.text(), /<title>NEXUS AI<\/title>/);

      const stopped = await first.interrupt();
      assert.equal(stopped.status.code, 0);
      assert.ok(stopped.family.length >= 3, `runner, stack and functions: ${stopped.family}`);
      assert.deepEqual(await waitGone([...stopped.family, stopped.postmaster]), [], "no process left behind");

      // A second start keeps the data: the same user signs in.
      const second = await start([]);
      const again = createClient(second.info.apiUrl, second.info.anonKey, {
        auth: { persistSession: false },
      });
      const signIn = await again.auth.signInWithPassword({ email, password: "lifecycle-password" });
      assert.equal(signIn.error, null, "the account survived a restart");
      // Ctrl-C in a terminal: two SIGINTs reach the stack; it stops once and exits.
      const s2 = await second.interrupt({ fromTerminal: true });
      assert.equal(s2.status.code, 0);
      assert.equal(second.output().match(/\[stack\] stopping…/g)?.length, 1, "one shutdown, not two");
      assert.deepEqual(await waitGone([...s2.family, s2.postmaster]), []);

      // --reset starts from an empty database.
      const third = await start(["--reset"]);
      const fresh = createClient(third.info.apiUrl, third.info.anonKey, { auth: { persistSession: false } });
      const gone = await fresh.auth.signInWithPassword({ email, password: "lifecycle-password" });
      assert.equal(gone.error?.code, "invalid_credentials", "the account is gone after --reset");
      const s3 = await third.interrupt();
      assert.deepEqual(await waitGone([...s3.family, s3.postmaster]), []);
    } finally {
      for (const child of running) {
        try {
          child.kill("SIGINT");
        } catch { /* it had already exited (e.g. its ports were taken) */ }
        await child.status;
      }
      await provider.close();
    }
  },
});
