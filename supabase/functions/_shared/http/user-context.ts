// The user-context headers every authenticated response carries (DESIGN.md §4), from the
// quota snapshot the database returns with admission (or get_user_quota).

export interface QuotaSnapshot {
  tier: string;
  requestsPerMinute: number;
  minuteUsed: number;
  minuteRemaining: number;
  minuteResetAt: number;
  monthlyQuota: number | null;
  monthUsed: number;
  monthRemaining: number | null;
  periodStart: string;
  periodEnd: string;
  maxCostPerRequest: number | string | null;
}

export const USER_CONTEXT_HEADERS = [
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "X-Quota-Limit",
  "X-Quota-Remaining",
  "X-User-Tier",
];

export function userContextHeaders(q: QuotaSnapshot): Record<string, string> {
  return {
    "X-RateLimit-Limit": String(q.requestsPerMinute),
    "X-RateLimit-Remaining": String(q.minuteRemaining),
    "X-RateLimit-Reset": String(q.minuteResetAt),
    "X-Quota-Limit": q.monthlyQuota === null ? "unlimited" : String(q.monthlyQuota),
    "X-Quota-Remaining": q.monthRemaining === null ? "unlimited" : String(q.monthRemaining),
    "X-User-Tier": q.tier,
  };
}
