// The parts of Go's net/url that GoTrue's redirects go through, so that the stand-in's redirect
// URLs are byte for byte GoTrue's: url.Parse's view of a URL (scheme, host, port; no
// normalization, unlike WHATWG's URL), url.Values (parsed from a query, encoded sorted by key
// with QueryEscape), and the escaping URL.String() applies to a fragment.

export interface GoUrl {
  /** Lower-cased, as url.Parse leaves it. */
  scheme: string;
  /** host[:port] as written (brackets kept for IPv6). */
  host: string;
  /** Everything before `?` (scheme, authority, path), as written. */
  base: string;
  rawQuery: string;
  /** The fragment as written (after `#`), or null when there is no `#`. */
  rawFragment: string | null;
}

/** url.Parse, for what GoTrue looks at; null where Go returns an error. */
export function goParseUrl(raw: string): GoUrl | null {
  // "net/url: invalid control character in URL"
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return null;
  const hashAt = raw.indexOf("#");
  const rawFragment = hashAt >= 0 ? raw.slice(hashAt + 1) : null;
  const rest = hashAt >= 0 ? raw.slice(0, hashAt) : raw;
  const queryAt = rest.indexOf("?");
  const base = queryAt >= 0 ? rest.slice(0, queryAt) : rest;
  const rawQuery = queryAt >= 0 ? rest.slice(queryAt + 1) : "";

  let scheme = "";
  let afterScheme = base;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(base);
  if (m) {
    scheme = m[1].toLowerCase();
    afterScheme = base.slice(m[0].length);
  } else if (base.startsWith(":")) {
    return null; // "missing protocol scheme"
  }
  let host = "";
  if (afterScheme.startsWith("//") && (scheme !== "" || !base.startsWith("///"))) {
    const authority = afterScheme.slice(2).split("/")[0];
    host = authority.slice(authority.lastIndexOf("@") + 1);
    const port = portOf(host);
    if (port === null) return null; // "invalid port"
    if (/[\s"<>\\^`{|}]/.test(host)) return null; // "invalid character in host name"
  }
  return { scheme, host, base, rawQuery, rawFragment };
}

/** The port of host[:port] ("" when none), or null when what follows the colon is no port. */
function portOf(host: string): string | null {
  const colon = host.lastIndexOf(":");
  if (colon < 0 || host.lastIndexOf("]") > colon) return "";
  const port = host.slice(colon + 1);
  return /^\d*$/.test(port) ? port : null;
}

/** URL.Hostname(): the host without its port and without IPv6 brackets. */
export function goHostname(u: GoUrl): string {
  let h = u.host;
  const colon = h.lastIndexOf(":");
  if (colon >= 0 && h.lastIndexOf("]") < colon) h = h.slice(0, colon);
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  return h;
}

export function goPort(u: GoUrl): string {
  return portOf(u.host) ?? "";
}

/** url.QueryUnescape; null on a malformed escape. */
function queryUnescape(s: string): string | null {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return null;
  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < s.length;) {
    if (s[i] === "%") {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
    } else if (s[i] === "+") {
      bytes.push(0x20);
      i++;
    } else {
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...utf8.encode(ch));
      i += ch.length;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** url.Values: each key's values in order. */
export type GoValues = Map<string, string[]>;

/** url.ParseQuery, keeping what Go keeps (pairs with `;` or a bad escape are dropped). */
export function goParseQuery(rawQuery: string): GoValues {
  const values: GoValues = new Map();
  for (const part of rawQuery.split("&")) {
    if (part === "" || part.includes(";")) continue;
    const eq = part.indexOf("=");
    const key = queryUnescape(eq >= 0 ? part.slice(0, eq) : part);
    const value = queryUnescape(eq >= 0 ? part.slice(eq + 1) : "");
    if (key === null || value === null) continue;
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

/** Values.Set. */
export function goSet(values: GoValues, key: string, value: string): GoValues {
  values.set(key, [value]);
  return values;
}

function escapeBytes(s: string, keep: (c: number) => boolean, spaceAsPlus: boolean): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    if (keep(b)) out += String.fromCharCode(b);
    else if (b === 0x20 && spaceAsPlus) out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

const isUnreserved = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
  c === 0x2d || c === 0x5f || c === 0x2e || c === 0x7e; // - _ . ~

/** url.QueryEscape. */
export function goQueryEscape(s: string): string {
  return escapeBytes(s, isUnreserved, true);
}

/** Values.Encode: sorted by key, each value QueryEscape'd. */
export function goEncode(values: GoValues): string {
  return [...values.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap((k) => values.get(k)!.map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join("&");
}

/** What URL.String() makes of a fragment set as text (escape(fragment, encodeFragment)). */
export function goEscapeFragment(fragment: string): string {
  return escapeBytes(
    fragment,
    (c) => isUnreserved(c) || "$&+,/:;=?@!()*".includes(String.fromCharCode(c)),
    false,
  );
}

/** URL.String() for a parsed URL with this query and this (already escaped) fragment. */
export function goFormat(u: GoUrl, rawQuery: string, rawFragment: string | null): string {
  let s = u.base;
  if (rawQuery !== "") s += `?${rawQuery}`;
  if (rawFragment) s += `#${rawFragment}`;
  return s;
}

/** What net/http's Redirect does to a Location: non-ASCII bytes percent-encoded. */
export function hexEscapeNonAscii(s: string): string {
  return escapeBytes(s, (c) => c < 0x80, false);
}
