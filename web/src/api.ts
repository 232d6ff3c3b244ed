// The functions API as the client uses it: authenticated JSON requests, errors as ApiError (with
// the status, code and Retry-After the UI needs), and the user-context headers every response
// carries. Money stays a decimal string with the server's exact digits (see parseJson).

import type { SupabaseClient } from "@supabase/supabase-js";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    /** Seconds, from Retry-After on 429. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** Keys whose JSON numbers are money: kept as their source digits, never rounded through a float. */
const MONEY = new Set(["cost", "session", "month", "total", "spendThisMonthUsd", "monthlyBudgetUsd"]);

/** The server writes money as JSON numbers with exact decimal digits; keep those digits. */
export function parseJson(text: string) {
  return JSON.parse(text, (key, value, context?: { source?: string }) => {
    if (!MONEY.has(key) || typeof value !== "number") return value;
    return moneyText(value, context?.source);
  });
}

/** A money value as a decimal string: the source text when known, else the shortest round trip. */
export function moneyText(value: number | string, source?: string): string {
  if (source && /^\d+(\.\d+)?$/.test(source)) return source;
  if (typeof value === "string") return value;
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(18).replace(/\.?0+$/, "") : text;
}

/** What the response headers say about my limits (every authenticated response has them). */
export interface UserContext {
  tier?: string;
  quotaLimit?: number | null; // null: unlimited
  quotaRemaining?: number | null;
  rateRemaining?: number;
}

export function userContext(headers: Headers): UserContext {
  const num = (v: string | null) => v === null ? undefined : v === "unlimited" ? null : Number(v);
  return {
    tier: headers.get("x-user-tier") ?? undefined,
    quotaLimit: num(headers.get("x-quota-limit")),
    quotaRemaining: num(headers.get("x-quota-remaining")),
    rateRemaining: num(headers.get("x-ratelimit-remaining")) ?? undefined,
  };
}

export async function errorFrom(res: Response): Promise<ApiError> {
  const body = await res.json().catch(() => null);
  const retry = Number(res.headers.get("retry-after"));
  return new ApiError(
    body?.error?.message ?? `Request failed (${res.status})`,
    res.status,
    body?.error?.code ?? "http_error",
    Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : undefined,
  );
}

export type ContextListener = (ctx: UserContext) => void;

export function createApi(supabase: SupabaseClient, baseUrl: string, anonKey: string) {
  const listeners: ContextListener[] = [];
  /** Bumped when the signed-in account changes: a response to an earlier account's request says nothing of this one. */
  let epoch = 0;

  async function headers(): Promise<Record<string, string>> {
    const { data } = await supabase.auth.getSession();
    if (!data.session) throw new ApiError("Not signed in", 401, "unauthorized");
    return {
      authorization: `Bearer ${data.session.access_token}`,
      apikey: anonKey,
      "content-type": "application/json",
    };
  }

  /** One refresh at a time, shared by the requests refused together. */
  let refreshing: Promise<boolean> | null = null;
  function refreshOnce(): Promise<boolean> {
    refreshing ??= supabase.auth.refreshSession()
      .then(({ data, error }) => !error && !!data.session, () => false)
      .finally(() => setTimeout(() => (refreshing = null), 0));
    return refreshing;
  }

  /**
   * A raw authenticated fetch of a function (for the SSE stream). A 401 (session revoked, token
   * expired in a sleeping tab) refreshes the session once and retries; if the session cannot be
   * refreshed, or the retry is refused too, the user is signed out (to the sign-in screen).
   */
  async function raw(path: string, init: RequestInit = {}, retry = true): Promise<Response> {
    const startedIn = epoch;
    const res = await fetch(`${baseUrl}/functions/v1/${path}`, {
      ...init,
      headers: { ...(await headers()), ...(init.headers as Record<string, string> ?? {}) },
    });
    if (res.status === 401) {
      if (retry && await refreshOnce()) return raw(path, init, false);
      await supabase.auth.signOut({ scope: "local" }).catch(() => {});
      return res;
    }
    const ctx = userContext(res.headers);
    if (ctx.tier && startedIn === epoch) { for (const l of listeners) l(ctx); }
    return res;
  }

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await raw(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw await errorFrom(res);
    return parseJson(await res.text()) as T;
  }

  return {
    raw,
    get: <T>(path: string) => json<T>("GET", path),
    post: <T>(path: string, body?: unknown) => json<T>("POST", path, body ?? {}),
    patch: <T>(path: string, body: unknown) => json<T>("PATCH", path, body),
    del: <T>(path: string) => json<T>("DELETE", path),
    onContext: (l: ContextListener) => listeners.push(l),
    /** Another account (or none) from now on: responses to requests made before are not its context. */
    newAccount: () => epoch++,
  };
}

export type Api = ReturnType<typeof createApi>;
