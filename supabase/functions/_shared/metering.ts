// The database side of a request's life: admit (the one round trip before the provider),
// then exactly one of settle or release, run after the response (see background.ts).

import { db } from "./db.ts";
import type { QuotaSnapshot } from "./http/user-context.ts";
import type { ChatModel } from "./catalog/index.ts";

export interface Candidate {
  model: ChatModel;
  maxOutputTokens: number;
  worstCaseCost: string;
}

export type Admission =
  | {
    admitted: true;
    model: string;
    provider: string;
    selection: "explicit" | "router" | "default_model";
    conversationId: string | null;
    messageId: string | null;
    quota: QuotaSnapshot;
  }
  | {
    admitted: false;
    code: "unauthorized" | "model_not_allowed" | "not_found" | "quota_exceeded" | "rate_limited";
    message: string;
    details?: unknown;
    retryAfter?: number;
    quota?: QuotaSnapshot;
  };

export async function admit(args: {
  userId: string;
  requestId: string;
  candidates: Candidate[];
  routed: boolean;
  conversationId?: string;
  userMessage: string | null;
  title: string | null;
}): Promise<Admission> {
  const candidates = args.candidates.map((c) => ({
    model: c.model.id,
    provider: c.model.provider,
    worstCaseCost: c.worstCaseCost,
    tiers: c.model.tiers,
  }));
  const [row] = await db()`
    select public.admit_request(
      ${args.userId}, ${args.requestId}, ${db().json(candidates)}, ${args.routed},
      ${args.conversationId ?? null}, ${args.userMessage}, ${args.title}
    ) as result`;
  return row.result as Admission;
}

export interface Settlement {
  requestId: string;
  messageId: string;
  inputTokens: number;
  outputTokens: number;
  cost: string;
  priceVersion: string;
  latencyMs: number;
  status: "complete" | "partial" | "error" | "cancelled";
  content: string | null;
}

export async function settle(s: Settlement): Promise<void> {
  await db()`
    select public.settle_request(
      ${s.requestId}, ${s.inputTokens}, ${s.outputTokens}, ${s.cost}::numeric, ${s.priceVersion},
      ${Math.round(s.latencyMs)}, ${s.status}, ${s.content}, ${s.messageId}
    )`;
}

export async function release(requestId: string, reason: string): Promise<void> {
  await db()`select public.release_request(${requestId}, ${reason})`;
}

export async function quotaOf(userId: string): Promise<QuotaSnapshot | null> {
  const [row] = await db()`select public.get_user_quota(${userId}) as quota`;
  return row.quota as QuotaSnapshot | null;
}
