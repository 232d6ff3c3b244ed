// The recorded provider streams in ../shared/fixtures/providers (beside the repository), and
// ways to replay them as a provider would send them.

import { join, resolve } from "node:path";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
export const FIXTURES = Deno.env.get("NEXUS_FIXTURES") ?? join(ROOT, "..", "shared", "fixtures");

export interface ManifestEntry {
  file: string;
  provider: string;
  wireFormat: string;
  streaming: boolean;
  model: string;
  expectedText: string;
  expectedReasoning: string | null;
  expectedToolCalls: { id: string; name: string; arguments: string }[] | null;
  expectedUsage: { inputTokens: number; outputTokens: number } | null;
  usageDetails?: { totalTokens?: number; reasoningTokens?: number; cachedInputTokens?: number };
  finishReason: string | null;
}

export function manifest(): ManifestEntry[] {
  return JSON.parse(Deno.readTextFileSync(join(FIXTURES, "providers", "MANIFEST.json")));
}

export function fixtureText(entry: ManifestEntry): string {
  return Deno.readTextFileSync(join(FIXTURES, "providers", entry.file));
}

/** The body as the provider sent it: .sse verbatim; .chunks.txt re-framed as SSE events. */
export function sseBody(entry: ManifestEntry, opts: { eventNames?: boolean; done?: boolean } = {}): string {
  const text = fixtureText(entry);
  if (entry.file.endsWith(".sse")) return text;
  return text.split("\n").filter((l) => l.trim()).map((line) => {
    const event = opts.eventNames ? `event: ${JSON.parse(line).type}\n` : "";
    return `${event}data: ${line}\n\n`;
  }).join("") + (opts.done ? "data: [DONE]\n\n" : "");
}

/**
 * A body delivered in small pieces of varying size, cut anywhere (inside a line, inside a
 * multi-byte character), as a network would, so parsers are tested on real chunking.
 */
export function chunkedStream(text: string, seed = 7): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) % 97 + 1;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const size = next();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}
