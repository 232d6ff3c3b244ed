// Structured logs: one JSON object per line, each carrying the function's name and the id of
// the request it belongs to (also returned to the client as X-Request-Id), so a user's report
// can be matched to every line the request wrote, background metering included.

import { AsyncLocalStorage } from "node:async_hooks";

interface RequestScope {
  functionName: string;
  requestId: string;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` with every log line it (and work it starts) writes tagged with the request. */
export function withRequestScope<T>(functionName: string, requestId: string, fn: () => T): T {
  return scope.run({ functionName, requestId }, fn);
}

/** The id of the request being served, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}

// Credentials as providers and we write them: OpenAI/Anthropic/DeepSeek `sk-…`, Google `AIza…`,
// xAI `xai-…`, Groq `gsk_…`, Perplexity `pplx-…`, our `nx_…` keys, JWTs, and any bearer token.
const SECRET =
  /\b(?:sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,}|xai-[A-Za-z0-9]{8,}|gsk_[A-Za-z0-9]{8,}|pplx-[A-Za-z0-9]{8,}|nx_[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)|(?<=Bearer\s+)\S+/g;

/**
 * Text from outside (a provider's error message) as it may be logged: credentials it quotes are
 * cut to their first four characters. Providers mask keys in their messages, but not all do.
 */
export function redactSecrets(text: string): string {
  return text.replace(SECRET, (secret) => `${secret.slice(0, 4)}…[redacted]`);
}

type Level = "debug" | "info" | "warn" | "error";

function write(level: Level, msg: string, fields: Record<string, unknown>, s = scope.getStore()): void {
  const line = JSON.stringify({
    ts: new Date().toISOString(),
    level,
    fn: s?.functionName,
    requestId: s?.requestId,
    msg,
    ...fields,
  });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

export const log = {
  info: (msg: string, fields: Record<string, unknown> = {}) => write("info", msg, fields),
  warn: (msg: string, fields: Record<string, unknown> = {}) => write("warn", msg, fields),
  error: (msg: string, fields: Record<string, unknown> = {}) => write("error", msg, fields),
  /**
   * An info line written on a later turn of the event loop, tagged with the current request:
   * for lines written as a response is returned (the access log), whose formatting and
   * synchronous write to stdout would otherwise delay it.
   */
  infoAfterResponse: (msg: string, fields: Record<string, unknown>) => {
    const s = scope.getStore();
    setTimeout(() => write("info", msg, fields, s), 0);
  },
};
