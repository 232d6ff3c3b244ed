// GET /functions/v1/admin/metrics: Prometheus metrics for operators (see README, Monitoring).
// Admin only: one of the project's secret keys as the bearer (the service-role key or an
// `sb_secret_…` key: what a scraper is configured with), or the access token of a user whose app_metadata.role is "admin" (which only the
// service role can set).

import { createApp } from "../_shared/http/app.ts";
import { ApiError } from "../_shared/http/errors.ts";
import { bearerToken, verifyAccessToken } from "../_shared/auth/verify.ts";
import { isSecretKey } from "../_shared/auth/secret-keys.ts";
import { db } from "../_shared/db.ts";
import {
  LATENCY_BUCKETS_MS,
  type MetricsSnapshot,
  prometheusText,
} from "../_shared/observability/prometheus.ts";

const app = createApp("admin");

async function requireAdmin(req: Request): Promise<void> {
  const token = bearerToken(req);
  if (isSecretKey(token)) return;
  const claims = await verifyAccessToken(token);
  const role = (claims.app_metadata as { role?: unknown } | undefined)?.role;
  if (role !== "admin") throw new ApiError("forbidden", "Only administrators may read the metrics");
}

app.get("/metrics", async (c) => {
  await requireAdmin(c.req.raw);
  const [row] = await db()`select public.metrics_snapshot(${LATENCY_BUCKETS_MS}::integer[]) as m`;
  return c.body(prometheusText(row.m as MetricsSnapshot), 200, {
    "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    "Cache-Control": "no-store",
  });
});

Deno.serve(app.fetch);
