// Bodies and queries of the account endpoints, validated at the boundary.

import { z } from "zod";
import { KeysetCursor } from "../http/keyset.ts";
import { findModel, isChatModel } from "../catalog/index.ts";

/**
 * Characters a name must not hold: control characters, and the invisible ones that reorder or hide
 * text (bidi overrides, zero-width), with which one member could pass for another in a list.
 */
export const HIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

export const AccountPatch = z.strictObject({
  displayName: z.string().trim().min(1).max(80)
    .refine((name) => !HIDDEN_CHARACTERS.test(name), "must not contain control or invisible characters")
    .nullable().optional(),
  avatarUrl: z.url({ protocol: /^https?$/ }).max(2000).nullable().optional(),
  smartRouter: z.boolean().optional(),
  defaultModel: z.string().nullable().optional().refine(
    (id) => id == null || (findModel(id) !== undefined && isChatModel(findModel(id)!)),
    "must be a chat model of the catalog",
  ),
}).refine((b) => Object.keys(b).length > 0, "nothing to update");

export const UsageQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  groupBy: z.enum(["day", "model", "key"]).optional(),
  /** Only what this API key of mine spent. */
  keyId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** The records after the previous page's last one (its nextCursor); totals and groups stay whole. */
  before: KeysetCursor.optional(),
}).refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
  message: "from must be before to",
  path: ["from"],
});

export const NewApiKey = z.strictObject({
  name: z.string().trim().min(1).max(100),
  monthlyBudgetUsd: z.number().positive().max(1_000_000).optional()
    .transform((n) => (n === undefined ? undefined : String(n)))
    .refine((s) => s === undefined || /^\d+(\.\d{1,6})?$/.test(s), "at most 6 decimals"),
});
