// Builds the static web client into web/dist: one bundled, minified ES module (supabase-js
// included) plus the static files. Configuration is not baked in: the host serves /config.js.
//
// deno run -A web/build.ts

import * as esbuild from "esbuild";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const WEB = fromFileUrl(new URL(".", import.meta.url));
const STATIC = ["index.html", "style.css", "favicon.svg"];

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

if (import.meta.main) {
  console.log(`built ${await buildWeb()}`);
}
