// Serves the built web client (web/dist) on its own origin, as any static host would, plus
// /config.js: the only configuration the client has, the API URL and the publishable key.

import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
};

export function serveWeb(
  opts: { dist: string; port: number; apiUrl: string; anonKey: string },
): Deno.HttpServer {
  const configJs = `window.NEXUS_CONFIG = ${
    JSON.stringify({ supabaseUrl: opts.apiUrl, supabaseKey: opts.anonKey })
  };\n`;
  return Deno.serve({ hostname: "127.0.0.1", port: opts.port, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/config.js") {
      return new Response(configJs, {
        headers: { "content-type": TYPES[".js"], "cache-control": "no-store" },
      });
    }
    const path = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, "");
    for (const candidate of [join(opts.dist, path), join(opts.dist, "index.html")]) {
      try {
        const file = await Deno.open(candidate, { read: true });
        const stat = await file.stat();
        if (!stat.isFile) {
          file.close();
          continue;
        }
        return new Response(file.readable, {
          headers: {
            "content-type": TYPES[extname(candidate)] ?? "application/octet-stream",
            "cache-control": candidate.endsWith("index.html") ? "no-cache" : "public, max-age=300",
            "x-content-type-options": "nosniff",
          },
        });
      } catch {
        // not there: fall through to the SPA's index.html
      }
    }
    return new Response("Not found", { status: 404 });
  });
}
