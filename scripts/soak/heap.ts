// Does one function leak? Drives a fixed number of requests at it (by default the account
// function's routes) on a fresh local stack, and reads the memory it retains after a full
// collection (scripts/stack/heap-probe.ts) every --every requests. Prints the series and the
// growth per 1,000 requests over the second half: the soak's memory verdict
// (scripts/soak/heap-trend.ts), for one function and as many requests as it takes.
//
// deno run -A scripts/soak/heap.ts [--function account] [--route "GET account"]… [--requests 20000]
//   [--clients 8] [--rate 0] [--every 1000] [--seed-chats 10] [--api-port …] [--db-port …] [--web-port …]
// A route is "METHOD path [JSON body]", path below /functions/v1/. --rate: at most that many
// requests a second (0: as fast as the clients go), to see a trend in time as the soak's sparse
// traffic would. --seed-chats: JSON chats per user first, so usage reads return records.

import { parseArgs } from "node:util";
import postgres from "postgres";
import { readHeap } from "../stack/heap-probe.ts";
import { type HeapPoint, judgeHeap } from "./heap-trend.ts";
import { PORT_OPTIONS, signUpSoakUsers, startSoakStack } from "./setup.ts";

const ACCOUNT_ROUTES = [
  "GET account",
  "GET account/usage",
  "GET account/usage?groupBy=model",
  "GET account/keys",
  'PATCH account {"displayName":"Soak Tester"}',
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    function: { type: "string", default: "account" },
    route: { type: "string", multiple: true },
    requests: { type: "string", default: "20000" },
    clients: { type: "string", default: "8" },
    rate: { type: "string", default: "0" },
    every: { type: "string", default: "1000" },
    users: { type: "string", default: "20" },
    "seed-chats": { type: "string", default: "10" },
    ...PORT_OPTIONS,
  },
});
const REQUESTS = Number(values.requests);
const EVERY = Number(values.every);
const GAP_MS = Number(values.rate) > 0 ? 1000 / Number(values.rate) : 0;
const routes = (values.route?.length ? values.route : ACCOUNT_ROUTES).map((spec) => {
  const [, method, path, body] = /^(\w+)\s+(\S+)\s*(.*)$/.exec(spec) ?? [];
  if (!method) throw new Error(`a route is "METHOD path [JSON body]": ${spec}`);
  return { method, path, body: body || undefined };
});

console.log(`[heap] ${REQUESTS} requests at ${values.function}; starting a fresh local stack…`);
const stack = await startSoakStack("soak-heap", values);
const sql = postgres(stack.info.dbUrl, { max: 2, onnotice: () => {} });
const fn = (path: string) => `${stack.info.apiUrl}/functions/v1/${path}`;
let exitCode = 1;
try {
  const users = await signUpSoakUsers(stack, sql, Number(values.users));
  for (const user of users) {
    for (let i = 0; i < Number(values["seed-chats"]); i++) {
      await fetch(fn("chat"), {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `hello ${i}` }] }),
      }).then((r) => r.body?.cancel());
    }
  }
  const target = stack.info.functions[values.function];
  if (!target) throw new Error(`no function ${values.function}`);
  const points: HeapPoint[] = [];
  const started = Date.now();
  const sample = async () => {
    const h = await readHeap(target);
    points.push({ minute: (Date.now() - started) / 60_000, ...h });
    console.log(
      `[heap] served ${String(h.served).padStart(6)}: heap used ${(h.heapUsed / 2 ** 20).toFixed(2)} MB, ` +
        `external ${(h.external / 2 ** 20).toFixed(2)} MB, ` +
        `heap total ${(h.heapTotal / 2 ** 20).toFixed(1)} MB, rss ${(h.rss / 2 ** 20).toFixed(1)} MB`,
    );
  };
  await sample();
  let sent = 0;
  const statuses: Record<number, number> = {};
  let nextSample = EVERY;
  let sampling = Promise.resolve();
  let slot = Date.now();
  await Promise.all(Array.from({ length: Number(values.clients) }, async () => {
    while (sent < REQUESTS) {
      const n = sent++;
      if (GAP_MS) {
        slot += GAP_MS;
        await new Promise((r) => setTimeout(r, slot - Date.now()));
      }
      const { method, path, body } = routes[n % routes.length];
      const user = users[Math.floor(n / routes.length) % users.length];
      const res = await fetch(fn(path), {
        method,
        headers: {
          authorization: `Bearer ${user.token}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body,
      });
      await res.body?.cancel();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (sent >= nextSample) {
        nextSample += EVERY;
        sampling = sampling.then(sample);
      }
    }
  }));
  await sampling;
  await sample();
  const verdict = judgeHeap(points, points[0].minute + (points.at(-1)!.minute - points[0].minute) / 2);
  console.log(JSON.stringify({ function: values.function, statuses, ...verdict }, null, 2));
  exitCode = verdict.growing ? 1 : 0;
} finally {
  await sql.end();
  await stack.stop();
}
Deno.exit(exitCode);
