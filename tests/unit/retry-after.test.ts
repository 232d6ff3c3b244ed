// How long a provider asks us to wait: OpenAI's retry-after-ms, Retry-After in seconds or as an
// HTTP date, and Gemini's RetryInfo in its error body (it sends no header).

import assert from "node:assert/strict";
import { retryAfterSeconds } from "../../supabase/functions/_shared/providers/retry-after.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const wait = (headers: Record<string, string>, body = "") =>
  retryAfterSeconds(new Headers(headers), body, NOW);

/** Gemini's 429 as it answers it (https://ai.google.dev/gemini-api/docs/troubleshooting). */
const GEMINI_429 = JSON.stringify({
  error: {
    code: 429,
    message: "You exceeded your current quota, please check your plan and billing details.",
    status: "RESOURCE_EXHAUSTED",
    details: [
      {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        violations: [{
          quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        }],
      },
      { "@type": "type.googleapis.com/google.rpc.Help", links: [{ url: "https://ai.google.dev/" }] },
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "17s" },
    ],
  },
});

Deno.test("Retry-After in seconds, and as an HTTP date", () => {
  assert.equal(wait({ "retry-after": "30" }), 30);
  assert.equal(wait({ "retry-after": "1.5" }), 1.5);
  assert.equal(wait({ "retry-after": "Wed, 25 Nov 2026 12:00:20 GMT" }), 20);
  assert.equal(wait({ "retry-after": "Wed, 25 Nov 2026 11:59:00 GMT" }), undefined, "a date in the past");
  assert.equal(wait({ "retry-after": "0" }), undefined);
  assert.equal(wait({ "retry-after": "soon" }), undefined);
  assert.equal(wait({}), undefined);
});

Deno.test("OpenAI's retry-after-ms wins over retry-after", () => {
  assert.equal(wait({ "retry-after-ms": "1250" }), 1.25);
  assert.equal(wait({ "retry-after-ms": "1250", "retry-after": "2" }), 1.25);
  assert.equal(wait({ "retry-after-ms": "nope", "retry-after": "2" }), 2);
});

Deno.test("Gemini: the wait is the error body's RetryInfo.retryDelay (no header)", () => {
  assert.equal(wait({}, GEMINI_429), 17);
  assert.equal(wait({}, GEMINI_429.replace('"17s"', '"0.750s"')), 0.75);
  assert.equal(wait({}, GEMINI_429.replace('"17s"', '"2.000340012s"')), 2.000340012);
  assert.equal(wait({ "retry-after": "3" }, GEMINI_429), 3, "a header, where one comes, first");
  assert.equal(wait({}, GEMINI_429.replace('"17s"', '"17m"')), undefined, "not a Duration");
  assert.equal(wait({}, '{"error":{"details":"x"}} type.googleapis.com/google.rpc.RetryInfo'), undefined);
  assert.equal(wait({}, "not json type.googleapis.com/google.rpc.RetryInfo"), undefined);
  assert.equal(wait({}, '{"error":{"message":"rate limited"}}'), undefined);
});
