// Router decision latency: the smart router's own `decide` on every labeled prompt we have (the
// dev set beside the repository when present, and the examples in scripts/router/data), timed
// exactly as `npm run router:eval` times it (warm-up pass, then each prompt decided 20 times,
// prompts up to 4,000 characters, pro plan, balanced preference).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { evaluate, toItem } from "../router/eval.ts";
import { DEV_SET, EXTRA_DIR, readJsonl } from "../router/data.ts";

export function benchRouter() {
  const files = [DEV_SET, ...[...Deno.readDirSync(EXTRA_DIR)].map((e) => join(EXTRA_DIR, e.name))]
    .filter((f) => f.endsWith(".jsonl") && existsSync(f));
  const items = files.flatMap((f) => readJsonl<Record<string, unknown>>(f)).map(toItem);
  const { decisionMicros } = evaluate(items, { tier: "pro", preference: "balanced" });
  return { p50Micros: decisionMicros.p50, p99Micros: decisionMicros.p99, prompts: items.length };
}
