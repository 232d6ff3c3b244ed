// The Auth stand-in's pieces of GoTrue that decide where an email link sends the browser and how
// the URL is written: the redirect allow-list (utilities.IsRedirectURLValid, GetReferrer, the
// gobwas/glob patterns of additional_redirect_urls), Go's url.Values encoding and fragment
// escaping, and the [auth] settings read from config.toml (with NEXUS_AUTH_CONFIRMATIONS).

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  authSettingsFromToml,
  confirmationsOverride,
  loadAuthSettings,
  parseGoDuration,
} from "../../scripts/stack/auth/config.ts";
import { goEncode, goEscapeFragment, goParseQuery, goQueryEscape } from "../../scripts/stack/auth/go-url.ts";
import { getReferrer, globToRegExp, isRedirectUrlValid } from "../../scripts/stack/auth/redirect.ts";

const policy = {
  siteUrl: "http://127.0.0.1:3000",
  additionalRedirectUrls: ["https://*.example.com/**", "https://app.example.org/welcome", "myapp://callback"],
};

Deno.test("redirects GoTrue allows: the site, any port of a loopback site, loopback IPs, the allow-list", () => {
  const allowed = [
    "http://127.0.0.1:3000",
    "http://127.0.0.1:3000/any/path?x=1#y",
    "http://127.0.0.1:27603/", // same loopback host, another port
    "http://127.0.0.2:8080/", // a loopback IP address
    "http://[::1]:8080/",
    "https://127.0.0.1:3000/", // whatever the scheme
    "https://app.example.com/a/b", // `*` within a label, `**` across `/`
    "https://app.example.org/welcome",
    "https://app.example.org/welcome#fragment", // matched without its fragment
    "myapp://callback",
  ];
  const refused = [
    "",
    "https://evil.example.net/",
    "https://a.b.example.com/", // `*` does not cross `.`
    "https://app.example.org/welcome/more",
    "http://localhost:3000/", // not the site's host name, not an IP, not listed
    "http://2130706433/", // an IP address in decimal form
    "http://10.0.0.1/", // an IP address, not loopback
    "javascript:alert(1)",
    "http://exa mple.com/",
    "http://127.0.0.1:3000:abc/", // no port Go would parse
  ];
  for (const url of allowed) assert.equal(isRedirectUrlValid(policy, url), true, url);
  for (const url of refused) assert.equal(isRedirectUrlValid(policy, url), false, url);
});

Deno.test("glob patterns: *, **, ?, [classes] and {alternatives}, separators . and /", () => {
  assert.ok(globToRegExp("http://localhost:?000").test("http://localhost:3000"));
  assert.ok(!globToRegExp("http://localhost:?000").test("http://localhost:30000"));
  assert.ok(globToRegExp("https://{app,www}.example.com").test("https://www.example.com"));
  assert.ok(!globToRegExp("https://{app,www}.example.com").test("https://api.example.com"));
  assert.ok(globToRegExp("https://[a-c]pp.example.com").test("https://app.example.com"));
  assert.ok(!globToRegExp("https://[!a]pp.example.com").test("https://app.example.com"));
  assert.ok(globToRegExp("https://example.com/**").test("https://example.com/a/b.c/d"));
  assert.ok(!globToRegExp("https://example.com/*").test("https://example.com/a/b"));
});

Deno.test("the referrer: redirect_to (header, then query) if allowed, else Referer if allowed, else the site", () => {
  const at = (query: string, headers: Record<string, string> = {}) => {
    const url = new URL(`http://127.0.0.1:54321/auth/v1/signup${query}`);
    return getReferrer(policy, new Request(url, { headers }), url);
  };
  assert.equal(at("?redirect_to=http://127.0.0.1:5173/"), "http://127.0.0.1:5173/");
  assert.equal(at("?redirect_to=https://evil.example.net/"), "http://127.0.0.1:3000");
  assert.equal(
    at("?redirect_to=https://evil.example.net/", { Referer: "https://app.example.com/signup" }),
    "https://app.example.com/signup",
  );
  assert.equal(at("", { redirect_to: "https://app.example.org/welcome" }), "https://app.example.org/welcome");
  assert.equal(at(""), "http://127.0.0.1:3000");
});

Deno.test("Go's url.Values: sorted keys, QueryEscape; a fragment set as text is escaped again", () => {
  assert.equal(goQueryEscape("a b/~:é"), "a+b%2F~%3A%C3%A9");
  const values = goParseQuery("z=1&b=two+words&a=%3A&bad=%zz&semi=1;2&a=again");
  assert.deepEqual([...values.entries()], [["z", ["1"]], ["b", ["two words"]], ["a", [":", "again"]]]);
  assert.equal(goEncode(values), "a=%3A&a=again&b=two+words&z=1");
  // URL.String() escapes a fragment's `%` (what GoTrue's error redirects do to an encoded `:`).
  assert.equal(
    goEscapeFragment("error_description=No+state.+422%3A+none&sb="),
    "error_description=No+state.+422%253A+none&sb=",
  );
});

Deno.test("[auth] settings from config.toml, the CLI's defaults, and NEXUS_AUTH_CONFIRMATIONS", () => {
  const root = new URL("../..", import.meta.url).pathname;
  const project = loadAuthSettings(join(root, "supabase", "config.toml"), {});
  assert.equal(project.confirmations, false, "this project's config.toml autoconfirms");
  assert.equal(project.siteUrl, "http://127.0.0.1:3000");
  assert.equal(project.jwtExpirySeconds, 3600);
  assert.equal(project.minPasswordLength, 6);
  assert.equal(project.refreshTokenReuseIntervalSeconds, 10);
  assert.equal(
    loadAuthSettings(join(root, "supabase", "config.toml"), { NEXUS_AUTH_CONFIRMATIONS: "true" })
      .confirmations,
    true,
  );

  const custom = authSettingsFromToml(
    `[auth]\nsite_url = "https://app.example.com"\nadditional_redirect_urls = []\n` +
      `[auth.email]\nenable_confirmations = true\nmax_frequency = "1m30s"\notp_expiry = 600\n`,
  );
  assert.deepEqual(
    [
      custom.siteUrl,
      custom.additionalRedirectUrls,
      custom.confirmations,
      custom.maxFrequencySeconds,
      custom.otpExpirySeconds,
    ],
    ["https://app.example.com", [], true, 90, 600],
  );
  assert.equal(
    authSettingsFromToml(`[auth.email]\nenable_confirmations = true\n`, { NEXUS_AUTH_CONFIRMATIONS: "false" })
      .confirmations,
    false,
    "the variable wins over the file",
  );
  const defaults = authSettingsFromToml("");
  assert.deepEqual([defaults.maxFrequencySeconds, defaults.otpExpirySeconds], [1, 3600]);

  assert.equal(confirmationsOverride(undefined), undefined);
  assert.equal(confirmationsOverride("1"), true);
  assert.throws(() => confirmationsOverride("yes please"), /NEXUS_AUTH_CONFIRMATIONS/);
  assert.equal(parseGoDuration("500ms"), 0.5);
  assert.throws(() => parseGoDuration("soon"));
  assert.throws(() => authSettingsFromToml(`[auth]\njwt_expiry = "an hour"\n`), /auth\.jwt_expiry/);
});
