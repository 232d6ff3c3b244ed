// The database side of a request's life: admit (the one round trip before the provider),
// then exactly one of settle or release, run after the response (see background.ts).

import { db, isTransient } from "./db.ts";
import { type Ending, endings } from "./request-endings.ts";
import { log } from "./observability/log.ts";
import type { QuotaSnapshot } from "./http/user-context.ts";
import type { ChatModel } from "./catalog/index.ts";
import type { Attempt } from "./observability/attempts.ts";

export interface Candidate {
  model: ChatModel;
  maxOutputTokens: number;
  worstCaseCost: string;
}

/** A finished request as stored: what an idempotent retry replays. */
export interface StoredResult {
  requestId: string;
  model: string;
  conversationId: string | null;
  messageId: string | null;
  content: string;
  cost: string;
  inputTokens: number;
  outputTokens: number;
}

export type Admission =
  | {
    admitted: true;
    model: string;
    provider: string;
    selection: "explicit" | "router" | "default_model";
    /** Models the plan allows to fall back to, best first. */
    fallbacks: string[];
    conversationId: string | null;
    messageId: string | null;
    /** Present when the answer came from the response cache (already settled). */
    cached?: { content: string; inputTokens: number; outputTokens: number; messageId: string };
    quota: QuotaSnapshot;
  }
  | {
    admitted: false;
    code:
      | "unauthorized"
      | "model_not_allowed"
      | "not_found"
      | "quota_exceeded"
      | "rate_limited"
      | "conflict"
      | "replay";
    message: string;
    details?: unknown;
    retryAfter?: number;
    replay?: StoredResult;
    quota?: QuotaSnapshot;
  };

const asCandidates = (list: Candidate[]) =>
  list.map((c) => ({
    model: c.model.id,
    provider: c.model.provider,
    worstCaseCost: c.worstCaseCost,
    tiers: c.model.tiers,
  }));

export async function admit(args: {
  /** The caller: a signed-in user, or a platform API key (its hash). */
  userId?: string;
  keyHash?: string;
  requestId: string;
  candidates: Candidate[];
  fallbacks: Candidate[];
  routed: boolean;
  conversationId?: string;
  userMessage: string | null;
  title: string | null;
  idempotencyKey?: string;
  requestHash?: string;
  cacheHash?: string;
  /** Routed requests: the models a user's default model may be (used when the router is off). */
  defaultOptions?: Candidate[];
  /** The Auth session making the request (its "session cost"). */
  sessionId?: string;
}): Promise<Admission> {
  if (args.keyHash) {
    const [row] = await db()`
      select public.admit_key_request(
        ${args.keyHash}, ${args.requestId}, ${db().json(asCandidates(args.candidates))}, ${args.routed},
        ${db().json(asCandidates(args.fallbacks))}, ${args.idempotencyKey ?? null}, ${
      args.requestHash ?? null
    },
        ${args.cacheHash ?? null}, ${db().json(asCandidates(args.defaultOptions ?? []))}
      ) as result`;
    return row.result as Admission;
  }
  const [row] = await db()`
    select public.admit_request(
      ${args.userId!}, ${args.requestId}, ${db().json(asCandidates(args.candidates))}, ${args.routed},
      ${args.conversationId ?? null}, ${args.userMessage}, ${args.title}, ${
    db().json(asCandidates(args.fallbacks))
  },
      ${args.idempotencyKey ?? null}, ${args.requestHash ?? null}, ${args.cacheHash ?? null},
      ${db().json(asCandidates(args.defaultOptions ?? []))}, ${args.sessionId ?? null}
    ) as result`;
  return row.result as Admission;
}

export interface Settlement {
  requestId: string;
  messageId: string;
  /** The model that answered (differs from the admitted one after a fallback). */
  model: ChatModel;
  inputTokens: number;
  outputTokens: number;
  cost: string;
  priceVersion: string;
  latencyMs: number;
  status: "complete" | "partial" | "error" | "cancelled";
  content: string | null;
  cacheHash?: string;
  cacheTtlSeconds?: number;
}

/** How a request went at its providers, logged with its end (provider_attempts, usage_records). */
export interface Trail {
  attempts: Attempt[];
  errorClass: string | null;
}

const NO_TRAIL: Trail = { attempts: [], errorClass: null };

// Each ending is written with the request's provider attempts, in batches with the endings that
// arrive while the previous batch is written (request-endings.ts, public.end_requests).

/**
 * Text as Postgres can store it: no NUL (text and jsonb refuse U+0000) and no lone surrogate
 * (jsonb refuses a half pair), each replaced by U+FFFD. A model can be asked to print either.
 */
export function storable(text: string): string {
  return text.toWellFormed().replaceAll("\0", "\uFFFD");
}

/**
 * Settles a request. Should the database refuse the settlement for good (not for a passing
 * reason: the caller retries those), it is settled again without the answer's text: the usage
 * record is what must never be lost; the conversation then lacks that reply.
 */
export async function settle(s: Settlement, trail: Trail = NO_TRAIL): Promise<void> {
  try {
    await endings.write(settlement(s, trail));
  } catch (e) {
    if (isTransient(e) || s.content === null) throw e;
    log.error("settlement refused; settling without the answer's text", {
      requestId: s.requestId,
      error: String(e),
    });
    await endings.write(settlement({ ...s, content: null, cacheHash: undefined }, trail));
  }
}

function settlement(s: Settlement, trail: Trail): Ending {
  return {
    kind: "settle",
    requestId: s.requestId,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    cost: s.cost, // a decimal string: exact to the database
    priceVersion: s.priceVersion,
    latencyMs: Math.round(s.latencyMs),
    status: s.status,
    content: s.content === null ? null : storable(s.content),
    messageId: s.messageId,
    model: s.model.id,
    provider: s.model.provider,
    cacheHash: s.cacheHash ?? null,
    cacheTtlSeconds: s.cacheTtlSeconds ?? 3600,
    attempts: trail.attempts,
    errorClass: trail.errorClass,
  };
}

export function release(requestId: string, reason: string, trail: Trail = NO_TRAIL): Promise<void> {
  return endings.write({
    kind: "release",
    requestId,
    reason,
    attempts: trail.attempts,
    errorClass: trail.errorClass,
  });
}

export async function quotaOf(userId: string): Promise<QuotaSnapshot | null> {
  const [row] = await db()`select public.get_user_quota(${userId}) as quota`;
  return row.quota as QuotaSnapshot | null;
}
