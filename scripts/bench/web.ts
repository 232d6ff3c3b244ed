// Web client size: the production build (web/build.ts), gzipped as a static host would serve
// it. bundleGzipKb is the JavaScript bundle (supabase-js included); totalGzipKb adds what the
// first page load also fetches (index.html, style.css).

import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { buildWeb } from "../../web/build.ts";
import { round } from "./stats.ts";

export async function benchWeb() {
  const dist = await buildWeb();
  const size = async (file: string) => {
    const bytes = await Deno.readFile(join(dist, file)).catch(() => new Uint8Array());
    return { raw: bytes.length, gzip: bytes.length ? gzipSync(bytes).length : 0 };
  };
  const bundle = await size("app.js");
  const rest = await Promise.all(["index.html", "style.css"].map(size));
  const kb = (bytes: number) => round(bytes / 1024, 1);
  return {
    bundleGzipKb: kb(bundle.gzip),
    bundleRawKb: kb(bundle.raw),
    totalGzipKb: kb(bundle.gzip + rest.reduce((n, s) => n + s.gzip, 0)),
  };
}
