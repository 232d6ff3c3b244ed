// Where GoTrue lets a link send the browser (internal/utilities/request.go): IsRedirectURLValid
// and GetReferrer. A redirect is allowed when it is on the site URL's host and scheme (any port
// on a loopback host), when its host is a loopback IP address, or when it matches one of the
// additional redirect URLs, which are globs (github.com/gobwas/glob with `.` and `/` as
// separators: `*` stops at them, `**` does not). Anything else falls back to the site URL.

import { goHostname, goParseUrl, goPort } from "./go-url.ts";

export interface RedirectPolicy {
  siteUrl: string;
  additionalRedirectUrls: string[];
}

const LOCALHOSTS = new Set(["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"]);

/** GoTrue's isLocalhost. */
function isLocalhost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return LOCALHOSTS.has(h) || h.endsWith(".localhost");
}

/** net.ParseIP(h).IsLoopback(), or null when h is no IP address. */
function loopbackIp(h: string): boolean | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) {
    const parts = v4.slice(1);
    // Go refuses octets over 255 and (since 1.17) leading zeros.
    if (parts.some((p) => Number(p) > 255 || (p.length > 1 && p.startsWith("0")))) return null;
    return parts[0] === "127";
  }
  if (h.includes(":") && /^[0-9a-fA-F:.]+$/.test(h)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(h);
    if (mapped) return loopbackIp(mapped[1]);
    const groups = expandIpv6(h);
    if (!groups) return null;
    return groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
  }
  return null;
}

function expandIpv6(h: string): number[] | null {
  const halves = h.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === "" ? [] : s.split(":"));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const all = [...head, ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const missing = 8 - all.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const fill = halves.length === 2 ? new Array(missing).fill("0") : [];
  return [...head, ...fill, ...tail].map((g) => parseInt(g, 16));
}

const regexpCache = new Map<string, RegExp>();

/** A gobwas/glob pattern with `.` and `/` as separators, as a whole-string RegExp. */
export function globToRegExp(pattern: string): RegExp {
  const cached = regexpCache.get(pattern);
  if (cached) return cached;
  const escape = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  let i = 0;
  const parse = (inBraces: boolean): string => {
    let out = "";
    while (i < pattern.length) {
      const c = pattern[i];
      if (inBraces && (c === "," || c === "}")) return out;
      i++;
      if (c === "\\" && i < pattern.length) out += escape(pattern[i++]);
      else if (c === "*") {
        if (pattern[i] === "*") {
          i++;
          out += "[\\s\\S]*";
        } else out += "[^./]*";
      } else if (c === "?") out += "[^./]";
      else if (c === "[") {
        const close = pattern.indexOf("]", i);
        if (close < 0) {
          out += "\\[";
          continue;
        }
        let body = pattern.slice(i, close);
        i = close + 1;
        const negate = body.startsWith("!");
        if (negate) body = body.slice(1);
        out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      } else if (c === "{") {
        const options: string[] = [];
        while (true) {
          options.push(parse(true));
          if (i >= pattern.length) break;
          if (pattern[i++] === "}") break;
        }
        out += `(?:${options.join("|")})`;
      } else out += escape(c);
    }
    return out;
  };
  const re = new RegExp(`^${parse(false)}$`);
  regexpCache.set(pattern, re);
  return re;
}

/** GoTrue's utilities.IsRedirectURLValid. */
export function isRedirectUrlValid(policy: RedirectPolicy, redirectUrl: string): boolean {
  if (redirectUrl === "") return false;
  const base = goParseUrl(policy.siteUrl);
  const ref = goParseUrl(redirectUrl);
  if (!base || !ref) return false;

  const refHost = goHostname(ref);
  if (
    goHostname(base) === refHost && base.scheme === ref.scheme &&
    (goPort(base) === goPort(ref) || isLocalhost(refHost))
  ) {
    return true;
  }

  const scheme = ref.scheme.toLowerCase().replace(/:$/, "");
  const isHttp = scheme === "http" || scheme === "https";
  if (/^[0-9]+$/.test(refHost)) return false; // an IP address in decimal form
  const loopback = loopbackIp(refHost);
  if (loopback !== null) return loopback;
  if (isHttp && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(refHost)) return false;

  const withoutFragment = redirectUrl.split("#")[0];
  return policy.additionalRedirectUrls.some((p) => globToRegExp(p).test(withoutFragment));
}

/**
 * GoTrue's utilities.GetReferrer: the request's `redirect_to` (a header, else the query) if
 * allowed, else its Referer if allowed, else the site URL.
 */
export function getReferrer(policy: RedirectPolicy, req: Request, url: URL): string {
  const asked = req.headers.get("redirect_to") || url.searchParams.get("redirect_to") || "";
  if (isRedirectUrlValid(policy, asked)) return asked;
  const referer = req.headers.get("Referer") ?? "";
  if (isRedirectUrlValid(policy, referer)) return referer;
  return policy.siteUrl;
}
