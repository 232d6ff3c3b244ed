// How long a provider that refused a call (429, 503…) asks us to wait, wherever it says so:
// - `retry-after-ms`: milliseconds, OpenAI's own header (its SDKs read it first);
// - `Retry-After`: seconds, or an HTTP date (RFC 9110 §10.2.3);
// - Google's RetryInfo in the error body: Gemini sends no header, its 429 says when in
//   error.details[] as {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}
//   (a google.protobuf.Duration in JSON: seconds with up to nine decimals, then "s").
// The first that gives a wait in the future wins; none: undefined (backoff alone decides).

const RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo";

/** A positive number of seconds, or undefined. */
function positive(seconds: number): number | undefined {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

function fromRetryAfter(value: string, now: number): number | undefined {
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return positive(Number(value));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : positive((at - now) / 1000);
}

function fromRetryInfo(body: string): number | undefined {
  if (!body.includes(RETRY_INFO)) return undefined; // most error bodies: not worth parsing
  let details: unknown;
  try {
    details = JSON.parse(body)?.error?.details;
  } catch {
    return undefined;
  }
  if (!Array.isArray(details)) return undefined;
  for (const d of details) {
    const delay = d?.["@type"] === RETRY_INFO ? d.retryDelay : undefined;
    const m = typeof delay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
    if (m) return positive(Number(m[1]));
  }
  return undefined;
}

/** Seconds to wait before calling again, from the refusal's headers and body. */
export function retryAfterSeconds(headers: Headers, body: string, now = Date.now()): number | undefined {
  const ms = headers.get("retry-after-ms");
  const fromMs = ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms) ? positive(Number(ms) / 1000) : undefined;
  if (fromMs !== undefined) return fromMs;
  const header = headers.get("retry-after");
  return (header !== null ? fromRetryAfter(header, now) : undefined) ?? fromRetryInfo(body);
}
