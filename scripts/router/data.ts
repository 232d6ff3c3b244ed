// The router's labeled data: the dev set beside the repository, the examples we wrote
// (scripts/router/data/*.jsonl), and the fixed held-out split that training never sees.

import { join, resolve } from "node:path";
import { existsSync } from "node:fs";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
export const DEV_SET = join(ROOT, "..", "shared", "fixtures", "router", "dev-set.jsonl");
export const EXTRA_DIR = join(ROOT, "scripts", "router", "data");

export interface LabeledItem {
  id: string;
  messages: { role: "system" | "user" | "assistant"; content: string }[];
  attachments?: { type: string; mimeType?: string; name?: string }[];
  intent: string;
  complexity?: string | null;
  requires?: string[];
}

export function readJsonl<T>(file: string): T[] {
  return Deno.readTextFileSync(file).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

/** One item in five of the dev set, chosen by a hash of its id: stable, and never trained on. */
export function isHeldOut(id: string): boolean {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) % 5 === 0;
}

export function trainingItems(): LabeledItem[] {
  const dev = readJsonl<LabeledItem>(DEV_SET).filter((item) => !isHeldOut(item.id));
  const extra = existsSync(EXTRA_DIR)
    ? [...Deno.readDirSync(EXTRA_DIR)].filter((e) => e.name.endsWith(".jsonl"))
      .flatMap((e) => readJsonl<LabeledItem>(join(EXTRA_DIR, e.name)))
    : [];
  return [...dev, ...extra];
}

export function heldOutItems(): LabeledItem[] {
  return readJsonl<LabeledItem>(DEV_SET).filter((item) => isHeldOut(item.id));
}
