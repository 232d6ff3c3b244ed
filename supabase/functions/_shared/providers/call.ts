// One HTTP call to a provider, with its failures classified (DESIGN.md §4: provider_error,
// provider_unavailable, provider_timeout). Resolves once the response headers are in, so the
// caller can still answer with a clean error before any byte of a stream was sent.

import { env } from "../env.ts";
import { providerEndpoint, providerInfo } from "./registry.ts";
import { log, redactSecrets } from "../observability/log.ts";
import { OutOfTime, ProviderError, type ProviderRequest } from "./types.ts";
import { retryAfterSeconds } from "./retry-after.ts";

// A non-streamed answer's headers come with its last token: the wait for them grows with the
// output budget, at the pace of a slow model (about 25 tokens/s).
const MS_PER_OUTPUT_TOKEN = 40;

export async function callProvider(
  req: ProviderRequest,
  stream: boolean,
  signal: AbortSignal,
  /** When the whole request must be over (performance.now() time): no call outlasts it. */
  deadline = Infinity,
): Promise<Response> {
  const provider = req.model.provider;
  const endpoint = providerEndpoint(provider);
  if (!endpoint) throw new ProviderError("unavailable", `Provider ${provider} is not configured`);
  const { url, init } = providerInfo(provider).adapter.buildRequest(req, endpoint, stream);

  // The timeout covers the wait for the response headers only: a long generation streaming
  // steadily must not be cut by it (stalls mid-stream are the stream reader's business).
  const allowed = stream
    ? env.providerTimeoutMs
    : env.providerTimeoutMs + req.maxOutputTokens * MS_PER_OUTPUT_TOKEN;
  const left = deadline - performance.now();
  if (left <= 0) throw new OutOfTime(`No time left for ${provider}`);
  const wait = Math.min(allowed, left);
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), wait);
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.any([signal, timeout.signal]) });
  } catch (e) {
    clearTimeout(timer);
    if (timeout.signal.aborted) {
      const message = `${provider} did not answer in time`;
      throw left < allowed ? new OutOfTime(message) : new ProviderError("timeout", message);
    }
    if (signal.aborted) throw e;
    throw new ProviderError("unavailable", `${provider} could not be reached`);
  }
  if (res.ok) {
    clearTimeout(timer);
    return res;
  }

  // An error's body is read under the same timer, and only so much of it: a provider (or a proxy)
  // that sends an error's headers and then stalls must not hold the request, nor a half-open probe.
  // Its own words stay in our logs: they can quote credentials (e.g. a masked key).
  let detail = "";
  try {
    detail = await readUpTo(res.body, MAX_ERROR_BODY_BYTES);
  } catch {
    /* stalled or cut: the status says enough */
  } finally {
    clearTimeout(timer);
  }
  log.warn("provider error", { provider, status: res.status, detail: providerMessage(detail) });
  const retryAfter = retryAfterSeconds(res.headers, detail);
  const message = `${provider} answered ${res.status}`;
  if (res.status === 429 || res.status === 503 || res.status === 529) {
    throw new ProviderError("unavailable", message, res.status, retryAfter);
  }
  if (res.status === 408 || res.status === 504) throw new ProviderError("timeout", message, res.status);
  throw new ProviderError("error", message, res.status);
}

/** An error body worth reading: providers' errors are a few hundred bytes. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The text of a body, up to `max` bytes (the rest is left unread and the body cancelled). */
async function readUpTo(body: ReadableStream<Uint8Array> | null, max: number): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let read = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      read += r.value.length;
      text += decoder.decode(r.value, { stream: true });
      if (read >= max) break;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return text + decoder.decode();
}

function providerMessage(body: string): string {
  let message = body;
  try {
    const json = JSON.parse(body);
    message = String(json?.error?.message ?? json?.message ?? body);
  } catch { /* not JSON: the text itself */ }
  return redactSecrets(message).slice(0, 300);
}
