// `npm test`: every test, against a fresh local stack of its own.
//   1. starts the stack (scripts/stack/main.ts --reset) in .local/test on its own ports
//   2. pgTAP:   pg_prove supabase/tests/*.sql against its database
//   3. Deno:    deno test tests/unit tests/integration (integration tests find the stack
//               through NEXUS_STACK_FILE)
//   4. browser: deno test tests/browser (playwright-core driving Debian's Chromium)
// then stops the stack and prints one closing line, "N passed, N failed".
//
// deno run -A scripts/test.ts [--suite pg|unit|integration|browser]… [-- deno test args]

import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, type StackProcess, startStack } from "./lib/stack-process.ts";
const PORTS = {
  api: Deno.env.get("NEXUS_TEST_API_PORT") ?? "25431",
  db: Deno.env.get("NEXUS_TEST_DB_PORT") ?? "25432",
  web: Deno.env.get("NEXUS_TEST_WEB_PORT") ?? "25433",
};

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { suite: { type: "string", multiple: true } },
  allowPositionals: true,
});
const suites = new Set(values.suite?.length ? values.suite : ["pg", "unit", "integration", "browser"]);
const needsStack = ["pg", "integration", "browser"].some((s) => suites.has(s));

interface Tally {
  passed: number;
  failed: number;
}
const total: Tally = { passed: 0, failed: 0 };

/** Runs a command, streaming its output through, and returns the output and exit status. */
async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ output: string; ok: boolean }> {
  const child = new Deno.Command(cmd, { args, cwd: ROOT, env, stdout: "piped", stderr: "piped" }).spawn();
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      await sink.write(chunk);
      output += new TextDecoder().decode(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  return { output, ok: status.success };
}

function tallyDeno(output: string, ok: boolean): Tally {
  // deno test's closing line: "ok | 12 passed (3 steps) | 0 failed (2s)"
  const m = [...output.matchAll(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g)].at(-1);
  if (!m) return { passed: 0, failed: ok ? 0 : 1 };
  const tally = { passed: Number(m[1]), failed: Number(m[2]) };
  if (!ok && tally.failed === 0) tally.failed = 1; // e.g. a type-check or load error
  return tally;
}

function tallyPgProve(output: string, ok: boolean): Tally {
  const tests = Number(/Files=\d+, Tests=(\d+)/.exec(output)?.[1] ?? 0);
  let failed = [...output.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((n, m) => n + Number(m[1]), 0);
  failed += [...output.matchAll(/Parse errors: /g)].length;
  if (!ok && failed === 0) failed = 1;
  return { passed: Math.max(tests - failed, 0), failed };
}

function add(name: string, t: Tally) {
  total.passed += t.passed;
  total.failed += t.failed;
  console.log(`\n[test] ${name}: ${t.passed} passed, ${t.failed} failed\n`);
}

const deno = Deno.execPath();
const denoTest = ["test", "-A", "--config", join(ROOT, "deno.json"), ...positionals];
let stack: StackProcess | undefined;
try {
  if (needsStack) {
    console.log("[test] starting a fresh local stack…");
    stack = await startStack({
      name: "test",
      ports: PORTS,
      // quicker simulated providers (tests assert behaviour, not latency), still visibly streaming
      env: {
        NEXUS_SIMULATOR_TPS: "200",
        NEXUS_SIMULATOR_FIRST_TOKEN_MS: "50",
        NEXUS_SIMULATOR_REPLY_TOKENS: "120",
        // short provider timeouts so the fault tests run in seconds
        NEXUS_PROVIDER_TIMEOUT_MS: "3000",
        NEXUS_PROVIDER_IDLE_TIMEOUT_MS: "2000",
        NEXUS_BREAKER_OPEN_MS: "3000",
      },
    });
  }
  const env: Record<string, string> = stack ? { NEXUS_STACK_FILE: stack.stackFile } : {};
  if (suites.has("pg") && stack) {
    const u = new URL(stack.info.dbUrl);
    const files = [...Deno.readDirSync(join(ROOT, "supabase/tests"))].map((e) => e.name).filter((n) =>
      n.endsWith(".sql")
    ).sort();
    const { output, ok } = await run("pg_prove", [
      "-h",
      u.hostname,
      "-p",
      u.port,
      "-U",
      u.username,
      "-d",
      u.pathname.slice(1),
      ...files.map((f) => join("supabase/tests", f)),
    ], { PGPASSWORD: decodeURIComponent(u.password) });
    add("pgTAP", tallyPgProve(output, ok));
  }
  if (suites.has("unit")) {
    const { output, ok } = await run(deno, [...denoTest, "tests/unit"], env);
    add("unit", tallyDeno(output, ok));
  }
  if (suites.has("integration")) {
    const { output, ok } = await run(deno, [...denoTest, "tests/integration"], env);
    add("integration", tallyDeno(output, ok));
  }
  if (suites.has("browser") && existsSync(join(ROOT, "tests/browser"))) {
    const { output, ok } = await run(deno, [...denoTest, "tests/browser"], env);
    add("browser", tallyDeno(output, ok));
  }
} catch (e) {
  console.error(`[test] ${e instanceof Error ? e.message : e}`);
  total.failed += 1;
} finally {
  await stack?.stop();
}

console.log(`${total.passed} passed, ${total.failed} failed`);
Deno.exit(total.failed === 0 && total.passed > 0 ? 0 : 1);
