// Builds the static web client into web/dist: one bundled, minified ES module (supabase-js
// included) plus the static files. Configuration is not baked in: the host serves /config.js.
//
// deno run -A web/build.ts

import * as esbuild from "esbuild";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { gzipSync } from "node:zlib";

const WEB = fromFileUrl(new URL(".", import.meta.url));
const STATIC = ["index.html", "style.css", "favicon.svg"];
/** The budget for the JavaScript a visitor downloads (gzipped, supabase-js included). */
export const JS_BUDGET_GZIP_BYTES = 100 * 1024;

export async function buildWeb(): Promise<string> {
  const dist = join(WEB, "dist");
  await Deno.mkdir(dist, { recursive: true });
  await esbuild.build({
    entryPoints: [join(WEB, "src/main.ts")],
    outfile: join(dist, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
  });
  await esbuild.stop();
  for (const file of STATIC) {
    await Deno.copyFile(join(WEB, "src", file), join(dist, file)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  return dist;
}

/** The shipped JavaScript's size, raw and gzipped (as a static host would serve it). */
export async function bundleSize(dist = join(WEB, "dist")): Promise<{ bytes: number; gzipBytes: number }> {
  const js = await Deno.readFile(join(dist, "app.js"));
  return { bytes: js.length, gzipBytes: gzipSync(js, { level: 9 }).length };
}

if (import.meta.main) {
  const dist = await buildWeb();
  const { bytes, gzipBytes } = await bundleSize(dist);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `built ${dist}: app.js ${kb(bytes)}, ${kb(gzipBytes)} gzipped ` +
      `(budget ${kb(JS_BUDGET_GZIP_BYTES)}${gzipBytes > JS_BUDGET_GZIP_BYTES ? ", OVER BUDGET" : ""})`,
  );
  if (gzipBytes > JS_BUDGET_GZIP_BYTES) Deno.exit(1);
}
