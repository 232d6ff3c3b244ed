// The app factory's CORS headers, compared with Hono's own cors() middleware given the same
// options (what the factory used to install for every request): preflights, answers, streams,
// errors and unknown paths carry the same Access-Control-* and Vary headers.

import assert from "node:assert/strict";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { CORS_OPTIONS, createApp } from "../../supabase/functions/_shared/http/app.ts";

const reference = new Hono().basePath("/fn");
reference.use("*", cors(CORS_OPTIONS));
reference.onError(() => Response.json({ error: "boom" }, { status: 500 }));
reference.notFound(() => Response.json({ error: "missing" }, { status: 404 }));

const app = createApp("fn");
for (const a of [reference, app] as Hono[]) {
  a.get("/ok", (c) => c.json({ ok: true }, 200, { "X-Own": "kept" }));
  a.get(
    "/stream",
    () =>
      new Response(new Blob(["data: x\n\n"]).stream(), { headers: { "content-type": "text/event-stream" } }),
  );
  a.get("/boom", () => {
    throw new Error("boom");
  });
}

const cases: [string, RequestInit][] = [
  ["/fn/ok", {}],
  ["/fn/ok", { headers: { origin: "https://app.example" } }],
  ["/fn/stream", {}],
  ["/fn/boom", {}],
  ["/fn/missing", {}],
  ["/fn/ok", {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  }],
];

const corsHeaders = (res: Response) =>
  [...res.headers].filter(([k]) => k.startsWith("access-control-") || k === "vary");

Deno.test("CORS headers are those of hono's cors() on every kind of answer", async () => {
  for (const [path, init] of cases) {
    const want = await reference.fetch(new Request(`http://localhost${path}`, init));
    const got = await app.fetch(new Request(`http://localhost${path}`, init));
    assert.equal(got.status, want.status, `${init.method ?? "GET"} ${path}`);
    assert.ok(corsHeaders(want).length >= 2, "the reference sets CORS headers");
    assert.deepEqual(corsHeaders(got), corsHeaders(want), `${init.method ?? "GET"} ${path}`);
    if (path === "/fn/ok" && !init.method) assert.equal(got.headers.get("x-own"), "kept");
    if (path === "/fn/stream") assert.equal(await got.text(), "data: x\n\n");
    for (const res of [want, got]) if (!res.bodyUsed) await res.body?.cancel();
  }
});
