// Secrets stay on the server. The web bundle is rebuilt here on a "machine" whose environment
// holds every server secret (the real service-role key and database URL, a JWT secret, a key
// for every provider) and every file of web/dist (the bundle, its source map, the page, the
// styles) is searched for them; the web origin serves nothing from outside web/dist; and no
// function answer (body or headers), refusals of every kind included, quotes a secret.
// (tests/integration/secrets.test.ts checks the served config and a few error bodies.)

import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { stack } from "../support/stack.ts";
import { functionsUrl, newUser } from "../support/users.ts";
import { assertNoSecrets, serverSecrets, signingKey } from "../support/security.ts";
import { PROVIDER_ENV_PREFIXES } from "../../scripts/stack/providers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const DIST = join(ROOT, "web", "dist");

const canary = (name: string) => `canary-${name}-${crypto.randomUUID()}`;

/** Every file under a directory, as text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  return [...Deno.readDirSync(dir)].flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory ? filesUnder(path) : [{ path, text: Deno.readTextFileSync(path) }];
  });
}

const PROVIDER_KEY_SHAPES =
  /sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}/;

Deno.test({
  name: "the web bundle built with every server secret in the environment contains none of them",
  ...opts,
  fn: async () => {
    const planted: Record<string, string> = {
      SUPABASE_SERVICE_ROLE_KEY: stack().serviceRoleKey,
      SUPABASE_DB_URL: stack().dbUrl,
      SUPABASE_JWT_SECRET: canary("jwt-secret"),
      SUPABASE_JWKS: JSON.stringify({ keys: [signingKey()] }), // even the private JWK
      DATABASE_URL: stack().dbUrl,
    };
    for (const prefix of PROVIDER_ENV_PREFIXES) {
      planted[`${prefix}_API_KEY`] = `sk-${canary(prefix.toLowerCase())}`;
    }
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", join(ROOT, "deno.json"), join(ROOT, "web", "build.ts")],
      cwd: ROOT,
      env: planted,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));

    const files = filesUnder(DIST);
    const names = files.map((f) => f.path.slice(DIST.length + 1)).sort();
    assert.ok(
      names.includes("app.js") && names.includes("app.js.map") && names.includes("index.html"),
      `${names}`,
    );
    const bundle = files.find((f) => f.path.endsWith("app.js"))!.text;
    assert.ok(bundle.length > 50_000 && bundle.includes("functions/v1"), "the real bundle was searched");

    // (SUPABASE_JWKS itself is not searched for: its private part is the "private signing key")
    const { SUPABASE_JWKS: _jwks, ...plantedSecrets } = planted;
    const secrets: Record<string, string> = { ...serverSecrets(), ...plantedSecrets };
    for (const { path, text } of files) {
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!text.includes(value), `${path} holds the ${name}`);
      }
      assert.ok(!PROVIDER_KEY_SHAPES.test(text), `${path} holds something shaped like a provider key`);
      // any JWT in the files (there should be none: the anon key comes from /config.js) is not a service key
      for (const [jwt] of text.matchAll(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g)) {
        const claims = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
        assert.notEqual(claims.role, "service_role", `${path} holds a service-role JWT`);
      }
    }
    // Our own client code, as the source map carries it, names no server-side variable. (The keys
    // page's examples tell users to put their own key in NEXUS_API_KEY: that one is theirs.)
    const map = JSON.parse(files.find((f) => f.path.endsWith("app.js.map"))!.text) as {
      sources: string[];
      sourcesContent: string[];
    };
    const ours = map.sources.flatMap((
      s,
      i,
    ) => (/^\.\.\/src\//.test(s) ? [[s, map.sourcesContent[i]]] : []));
    assert.ok(ours.length > 0, "the source map names the client's own sources");
    for (const [source, content] of ours) {
      assert.ok(
        !/SERVICE_ROLE|service_role|SUPABASE_DB_URL|JWT_SECRET|Deno\.env|(?<!NEXUS)_API_KEY/.test(content),
        `${source} reads no server secret`,
      );
    }
  },
});

Deno.test({
  name: "the web origin serves nothing from outside web/dist, however the path is spelled",
  ...opts,
  fn: async () => {
    const { webUrl } = stack();
    const index = await (await fetch(webUrl)).text();
    const stateFiles = ["signing-key.json", "stack.json"];
    const attempts = [
      ...stateFiles.flatMap((f) => [
        `/..%2f..%2f.local%2ftest%2f${f}`,
        `/%2e%2e/%2e%2e/.local/test/${f}`,
        `/%2e%2e%2f%2e%2e%2f.local%2fsec%2f${f}`,
        `/..%5c..%5c.local%5ctest%5c${f}`,
        `/....//....//.local/test/${f}`,
      ]),
      "/..%2fbuild.ts",
      "/%2e%2e/src/main.ts",
      "/..%2f..%2fdeno.json",
      "/..%2f..%2fpackage.json",
      "/..%2f..%2f.env",
      "/..%2f..%2fsupabase%2ffunctions%2f_shared%2fenv.ts",
      "//etc/passwd",
      "/%2fetc%2fpasswd",
      "/..%00/deno.json",
    ];
    for (const path of attempts) {
      const res = await fetch(`${webUrl}${path}`);
      const text = await res.text();
      assert.ok(res.status === 404 || (res.status === 200 && text === index), `${path}: ${res.status}`);
      assertNoSecrets(text, path);
    }
  },
});

Deno.test({
  name: "no function answer quotes a secret, in its body or its headers, whatever the refusal",
  ...opts,
  fn: async () => {
    const user = await newUser("secrets-answers");
    const paths = [
      "chat",
      "openai/chat/completions",
      "openai/models",
      "account",
      "account/usage?from=0000-01-01T00:00:00Z",
      "account/keys",
      "account/keys/not-a-key",
      "models",
      "conversations",
      `conversations/${crypto.randomUUID()}/messages`,
      `conversations/${crypto.randomUUID()}/members`,
      "account/no-such-endpoint",
      "no-such-function",
    ];
    const tokens = [null, "forged.token.value", user.accessToken, stack().serviceRoleKey];
    const requests: { path: string; method: string; token: string | null; body?: string }[] = [];
    for (const path of paths) {
      for (const token of tokens) {
        for (const method of ["GET", "DELETE", "PUT", "OPTIONS"]) requests.push({ path, method, token });
        for (const body of [undefined, "{", JSON.stringify({ x: "\u0000" })]) {
          for (const method of ["POST", "PATCH"]) requests.push({ path, method, token, body });
        }
      }
      requests.push({ path, method: "POST", token: user.accessToken, body: "x".repeat(1_100_000) });
    }
    const answers: string[] = [];
    for (const { path, method, token, body } of requests) {
      const res = await fetch(functionsUrl(path), {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          "content-type": "application/json",
          origin: "https://evil.example",
        },
        body,
      });
      const text = await res.text();
      const what = `${method} /${path} (${token === null ? "no token" : token.slice(0, 12)})`;
      assert.ok(res.status < 500, `${what}: ${res.status} ${text.slice(0, 200)}`);
      answers.push(`${what}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${text}`);
    }
    for (const answer of answers) assertNoSecrets(answer, answer.split("\n")[0]);
    assert.equal(answers.length, paths.length * (tokens.length * 10 + 1));
  },
});
