// The functions' configuration, read once per instance from the environment the platform (or
// the local stack) provides.

function required(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}

export const env = {
  get supabaseUrl(): string {
    return required("SUPABASE_URL").replace(/\/+$/, "");
  },
  /**
   * Postgres for admission and metering. NEXUS_DB_URL first: a hosted project's SUPABASE_DB_URL
   * is the direct connection (a few dozen slots for the whole project), while many function
   * instances want the transaction-mode pooler (port 6543); names starting with SUPABASE_ are
   * reserved to the platform, so the override has a name of its own.
   */
  get dbUrl(): string {
    return Deno.env.get("NEXUS_DB_URL") || required("SUPABASE_DB_URL");
  },
  /**
   * The project's secret keys: what the admin endpoints accept as the operator's bearer. The
   * legacy service-role key and every key of SUPABASE_SECRET_KEYS (the new `sb_secret_…` keys,
   * a JSON object of name → key); none configured means none accepted.
   */
  get adminKeys(): string[] {
    const keys: string[] = [];
    const legacy = Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
    if (legacy) keys.push(legacy);
    try {
      const secret = JSON.parse(Deno.env.get("SUPABASE_SECRET_KEYS") ?? "{}") as Record<string, unknown>;
      for (const key of Object.values(secret)) if (typeof key === "string" && key) keys.push(key);
    } catch { /* not JSON: no new-style keys */ }
    return keys;
  },
  /**
   * The issuers whose access tokens are accepted: NEXUS_JWT_ISSUER (comma-separated), else
   * `<SUPABASE_URL>/auth/v1`. Auth takes its issuer from its own configuration, which is not
   * always the URL the functions see: `supabase start` and self-hosted Docker give functions an
   * internal SUPABASE_URL, a custom domain changes the public one.
   */
  get jwtIssuers(): string[] {
    const listed = (Deno.env.get("NEXUS_JWT_ISSUER") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    return listed.length ? listed : [`${this.supabaseUrl}/auth/v1`];
  },
  /** Optional: the JWKS inline (local stack), else fetched from the project's Auth and cached. */
  get jwks(): string | undefined {
    return Deno.env.get("SUPABASE_JWKS") || undefined;
  },
  /**
   * Optional: the legacy HS256 secret, for projects whose Auth still signs with it. A hosted
   * project cannot be given SUPABASE_JWT_SECRET (the prefix is reserved): set NEXUS_JWT_SECRET.
   */
  get jwtSecret(): string | undefined {
    return Deno.env.get("NEXUS_JWT_SECRET") || Deno.env.get("SUPABASE_JWT_SECRET") || undefined;
  },
  /** Providers served by a simulator (set by the local stack). */
  get simulatedProviders(): Set<string> {
    return new Set((Deno.env.get("NEXUS_SIMULATED_PROVIDERS") ?? "").split(",").filter(Boolean));
  },
  /** Largest accepted request body, bytes. */
  get maxBodyBytes(): number {
    return Number(Deno.env.get("NEXUS_MAX_BODY_BYTES") ?? 1_000_000);
  },
  /** Time to wait for a provider's first byte before giving up, ms. */
  get providerTimeoutMs(): number {
    return Number(Deno.env.get("NEXUS_PROVIDER_TIMEOUT_MS") ?? 60_000);
  },
  /** Longest silence allowed inside a provider's stream before it counts as stalled, ms. */
  get providerIdleTimeoutMs(): number {
    return Number(Deno.env.get("NEXUS_PROVIDER_IDLE_TIMEOUT_MS") ?? 30_000);
  },
  /**
   * Longest a request may take from admission to its end, ms: its calls, fallbacks and stream
   * together. Hosted Edge Functions stop a worker at a wall-clock limit (150 s on the Free plan,
   * 400 s on paid ones): the default ends requests before the Free plan's limit; raise it with the
   * plan. It must stay below public.release_stale_requests' grace (15 minutes), which releases
   * requests it takes for abandoned: a request must end, and be billed, before that.
   */
  get maxRequestMs(): number {
    return Number(Deno.env.get("NEXUS_MAX_REQUEST_MS") ?? 140_000);
  },
  /**
   * Longest the client hears nothing while a stream waits on its provider, ms: then an SSE
   * comment (`: keep-alive`) keeps proxies and load balancers from closing the connection.
   */
  get streamHeartbeatMs(): number {
    return Number(Deno.env.get("NEXUS_STREAM_HEARTBEAT_MS") ?? 15_000);
  },
  /** Attempts per model before falling back (first try included). */
  get providerMaxAttempts(): number {
    return Number(Deno.env.get("NEXUS_PROVIDER_MAX_ATTEMPTS") ?? 3);
  },
  /** Consecutive failures that open a provider's circuit, and how long it stays open, ms. */
  get breakerThreshold(): number {
    return Number(Deno.env.get("NEXUS_BREAKER_THRESHOLD") ?? 5);
  },
  get breakerOpenMs(): number {
    return Number(Deno.env.get("NEXUS_BREAKER_OPEN_MS") ?? 30_000);
  },
  /** Lifetime of a response-cache entry, seconds. */
  get cacheTtlSeconds(): number {
    return Number(Deno.env.get("NEXUS_CACHE_TTL_SECONDS") ?? 3600);
  },
  get(name: string): string | undefined {
    return Deno.env.get(name) || undefined;
  },
};
