// Property-based fuzzing (fast-check) of every JSON endpoint's request: arbitrary JSON, invalid
// JSON text, near-valid bodies with one field broken (wrong type, out-of-range number, huge or
// odd Unicode string, deep nesting, extra or missing field), wrong content types and odd path
// ids. Whatever comes in: never a 5xx, never a secret in the answer; a request the endpoint's
// contract refuses is a 4xx in the documented error shape and changes no row.
//
// Which requests may succeed is decided by the endpoint's own boundary schema (plus the rule
// that stored strings carry no U+0000): those are still sent and may be a 2xx (the row
// fingerprint is then taken afresh), except on /chat and /openai, where a valid request would
// call a provider: those are not sent at all (fc.pre) and are counted in the log line.
//
// Seed: NEXUS_FUZZ_SEED (printed), runs per endpoint: NEXUS_FUZZ_RUNS (default 100).

import assert from "node:assert/strict";
import fc from "fast-check";
import { closeDatabase, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { assertErrorShape, assertNoSecrets, assertNothingChanged, rowSnapshot } from "../support/security.ts";
import { ChatBody } from "../../supabase/functions/_shared/chat/schema.ts";
import { CompletionRequest, toChatBody } from "../../supabase/functions/_shared/openai/schema.ts";
import { AccountPatch, NewApiKey, UsageQuery } from "../../supabase/functions/_shared/account/schema.ts";
import {
  ConversationPatch,
  NewConversation,
  NewMember,
} from "../../supabase/functions/_shared/conversations/schema.ts";
import { nulCharacterAt } from "../../supabase/functions/_shared/http/validate.ts";
import type { z } from "zod";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SEED = Number(Deno.env.get("NEXUS_FUZZ_SEED") ?? 20261125);
const RUNS = Number(Deno.env.get("NEXUS_FUZZ_RUNS") ?? 100);
console.log(`[fuzz] seed ${SEED} (NEXUS_FUZZ_SEED), ${RUNS} runs per endpoint (NEXUS_FUZZ_RUNS)`);

// ---- what a request is made of ------------------------------------------------------------

interface Sent {
  method: string;
  path: string;
  /** undefined: no body; null content type: bytes with no Content-Type header */
  text?: string;
  contentType?: string | null;
}

const deep = (depth: number) => {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = i % 2 ? { d: value } : [value];
  return value;
};

const EDGE_STRINGS = [
  "",
  " ",
  "\t\n",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "\u202etxt.exe",
  "\ufeff",
  "null",
  "<script>alert(1)</script>",
  "'; drop table public.profiles; --",
  "${jndi:ldap://x}",
  "%s%n%x",
  "../../etc/passwd",
  "𝕏".repeat(81),
  "é".repeat(201),
  "x".repeat(101),
  "x".repeat(100_001),
  "€".repeat(400_000), // 1.2 MB of UTF-8 in 400k characters: over the byte limit, under a char count
];
const EDGE_NUMBERS = [
  -1,
  0,
  -0,
  0.5,
  1,
  2,
  2.0000001,
  3,
  1e-7,
  5e-324,
  1e6 + 1,
  2 ** 31,
  2 ** 53 + 2,
  1e308,
  -1e308,
];

/** Strings a string schema may well accept but a database or a renderer may not. */
const oddStrings: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...EDGE_STRINGS),
  fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom("\u0000", "\ud800", "\udc00", "\u202e", "\uffff"))
    .map(([text, odd]) => `${text}${odd}${text}`),
  fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
);

const weird: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 6, arbitrary: oddStrings },
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(deep(2_000), [[[[]]]], {}, [], null, true, false) },
);

const EXTRA_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "role",
  "tier",
  "user_id",
  "id",
  "owner_id",
  "cost",
];

type Path = (string | number)[];

/** A valid body with one thing broken: a value replaced, a field removed, or one added. */
function nearValid(base: Record<string, unknown>, paths: Path[]): fc.Arbitrary<unknown> {
  const clone = () => structuredClone(base) as Record<string, unknown>;
  const parentOf = (body: Record<string, unknown>, path: Path) =>
    path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], body) as
      | Record<string | number, unknown>
      | undefined;
  const replaced = fc.tuple(fc.constantFrom(...paths), weird).map(([path, value]) => {
    const body = clone();
    if (path.length === 0) return value;
    const parent = parentOf(body, path);
    if (parent && typeof parent === "object") parent[path.at(-1)!] = value;
    return body;
  });
  const removed = fc.constantFrom(...paths.filter((p) => p.length)).map((path) => {
    const body = clone();
    const parent = parentOf(body, path);
    if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
    else if (parent) delete parent[path.at(-1)!];
    return body;
  });
  const added = fc.tuple(fc.oneof(fc.constantFrom(...EXTRA_KEYS), fc.string({ maxLength: 12 })), weird).map(
    ([key, value]) => {
      const body = clone();
      Object.defineProperty(body, key, { value, enumerable: true, configurable: true, writable: true });
      return body;
    },
  );
  return fc.oneof({ weight: 4, arbitrary: replaced }, { weight: 1, arbitrary: removed }, {
    weight: 1,
    arbitrary: added,
  });
}

/** JSON text that is broken, or valid but nothing like the body. */
function oddTexts(validText: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.nat({ max: validText.length - 1 }).map((n) => validText.slice(0, n)),
    fc.constantFrom(
      "",
      "{",
      "[",
      '{"a":}',
      "{'a':1}",
      "NaN",
      "undefined",
      "\ufeff{}",
      "{}{}",
      "{} garbage",
      "[".repeat(50_000) + "]".repeat(50_000),
      '{"a":'.repeat(20_000) + "1" + "}".repeat(20_000),
      JSON.stringify(validText),
      validText.replace(/"/g, "'"),
      validText + ",",
      `\u0000${validText}`,
    ),
  );
}

const NOT_JSON_TYPES = [
  null,
  "text/plain",
  "text/html",
  "application/xml",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "json",
];

/** What gets sent to a JSON body endpoint. */
function bodies(method: string, path: fc.Arbitrary<string>, base: Record<string, unknown>, paths: Path[]) {
  const validText = JSON.stringify(base);
  return fc.tuple(
    path,
    fc.oneof(
      {
        weight: 5,
        arbitrary: nearValid(base, paths).map((b) => ({ text: JSON.stringify(b), type: "application/json" })),
      },
      { weight: 3, arbitrary: oddTexts(validText).map((text) => ({ text, type: "application/json" })) },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.constantFrom(...NOT_JSON_TYPES),
          fc.oneof(fc.constant(base), nearValid(base, paths)),
        )
          .map(([type, b]) => ({ text: JSON.stringify(b), type })),
      },
    ),
  ).map(([p, b]): Sent => ({ method, path: p, text: b.text ?? "", contentType: b.type as string | null }));
}

/** A path segment: garbage, a well-formed id that is not there, or someone else's id. */
function segment(...known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.uuid(),
    fc.constantFrom("...", "%2e%2e", "%2F", "null", "0", "-1", " ", "x".repeat(5_000), ...known),
  ).map((s) => s.toWellFormed())
    // "." and ".." are resolved by the URL itself (out of the function): not a path id
    .filter((s) => s !== "." && s !== "..");
}

// ---- the oracle: may this request succeed? --------------------------------------------------

/** The body as the server reads it (Request.json: UTF-8, BOM stripped), or undefined. */
async function parsedBody(sent: Sent, checkType: boolean): Promise<{ value: unknown } | undefined> {
  if (checkType && !/^application\/json\b/i.test(sent.contentType ?? "")) return undefined;
  try {
    // from bytes, as they arrive: a string body would skip the UTF-8 decode that strips a BOM
    return { value: await new Response(new TextEncoder().encode(sent.text)).json() };
  } catch {
    return undefined;
  }
}

function storable(schema: z.ZodType, raw: unknown): boolean {
  const result = schema.safeParse(raw);
  return result.success && nulCharacterAt(result.data) === undefined;
}

// ---- the endpoints ----------------------------------------------------------------------------

interface Target {
  name: string;
  requests: fc.Arbitrary<Sent>;
  /** true when the contract allows the request to succeed */
  valid(sent: Sent): Promise<boolean>;
  /** a valid request would call a provider: it is not sent */
  callsProvider?: boolean;
  openai?: boolean;
}

interface World {
  me: TestUser;
  other: TestUser;
  myConversation: string;
  theirConversation: string;
  myKey: string;
  theirKey: string;
}

function targets(w: World): Target[] {
  const chatBase = { messages: [{ role: "user", content: "hello" }], model: "gpt-4o-mini", stream: false };
  const chatPaths: Path[] = [
    [],
    ["messages"],
    ["messages", 0],
    ["messages", 0, "role"],
    ["messages", 0, "content"],
    ["model"],
    ["stream"],
    ["conversationId"],
    ["temperature"],
    ["topP"],
    ["maxTokens"],
    ["stop"],
    ["routing"],
    ["fallback"],
    ["regenerate"],
    ["cache"],
  ];
  const openaiBase = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] };
  const openaiPaths: Path[] = [
    [],
    ["model"],
    ["messages"],
    ["messages", 0],
    ["messages", 0, "role"],
    ["messages", 0, "content"],
    ["stream"],
    ["stream_options"],
    ["temperature"],
    ["top_p"],
    ["max_tokens"],
    ["max_completion_tokens"],
    ["stop"],
    ["n"],
    ["user"],
    ["tools"],
    ["tool_choice"],
  ];
  const conversation = fc.constantFrom(w.myConversation, w.theirConversation, crypto.randomUUID());
  const json = (schema: z.ZodType) => async (s: Sent) => {
    const body = await parsedBody(s, true);
    return body !== undefined && storable(schema, body.value);
  };
  return [
    {
      name: "POST /chat",
      requests: bodies("POST", fc.constant("chat"), chatBase, chatPaths),
      valid: json(ChatBody),
      callsProvider: true,
    },
    {
      name: "POST /openai/chat/completions",
      requests: bodies("POST", fc.constant("openai/chat/completions"), openaiBase, openaiPaths),
      // the OpenAI surface reads JSON whatever the content type, as OpenAI's API does
      valid: async (s) => {
        const body = await parsedBody(s, false);
        const parsed = body && CompletionRequest.safeParse(body.value);
        if (!parsed?.success) return false;
        try {
          toChatBody(parsed.data);
          return true;
        } catch {
          return false;
        }
      },
      callsProvider: true,
      openai: true,
    },
    {
      name: "PATCH /account",
      requests: bodies("PATCH", fc.constant("account"), { displayName: "Fuzz" }, [
        [],
        ["displayName"],
        ["avatarUrl"],
        ["smartRouter"],
        ["defaultModel"],
      ]),
      valid: json(AccountPatch),
    },
    {
      name: "POST /account/keys",
      requests: bodies("POST", fc.constant("account/keys"), { name: "fuzz", monthlyBudgetUsd: 5 }, [
        [],
        ["name"],
        ["monthlyBudgetUsd"],
      ]),
      valid: json(NewApiKey),
    },
    {
      name: "DELETE /account/keys/:id",
      requests: segment(w.theirKey).map((id) => ({
        method: "DELETE",
        path: `account/keys/${encodeURIComponent(id)}`,
      })),
      valid: () => Promise.resolve(false), // my own key's id is never generated
    },
    {
      name: "GET /account/usage?…",
      requests: fc.dictionary(
        fc.oneof(fc.constantFrom("from", "to", "groupBy", "limit"), fc.string({ maxLength: 8 })),
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          // the edges of the calendar, where ISO 8601 and Postgres disagree
          fc.tuple(
            fc.constantFrom("0000-01-01T00:00", "0001-01-01T00:00", "0001-01-01T13:59", "9999-12-31T23:59"),
            fc.constantFrom("Z", "+14:00", "-12:00"),
          ).map(([time, zone]) => `${time}:00${zone}`),
          fc.constantFrom(
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59Z",
            "2024-02-30T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00+99:00",
            "day",
            "model",
            "1e3",
            "0x10",
            "-0",
            "Infinity",
            "NaN",
          ),
        ),
        { maxKeys: 4 },
      ).map((query) => ({ method: "GET", path: `account/usage?${new URLSearchParams(query)}` })),
      valid: (s) =>
        Promise.resolve(
          UsageQuery.safeParse(Object.fromEntries(new URL(s.path, "http://x/").searchParams)).success,
        ),
    },
    {
      name: "POST /conversations",
      requests: bodies("POST", fc.constant("conversations"), { title: "fuzz" }, [[], ["title"]]),
      valid: json(NewConversation),
    },
    {
      name: "PATCH /conversations/:id",
      requests: bodies("PATCH", conversation.map((id) => `conversations/${id}`), { title: "fuzz" }, [[], [
        "title",
      ]]),
      valid: async (s) => s.path.endsWith(w.myConversation) && await json(ConversationPatch)(s),
    },
    {
      name: "POST /conversations/:id/members",
      requests: bodies(
        "POST",
        conversation.map((id) => `conversations/${id}/members`),
        { email: "nobody@example.test" },
        [[], ["email"]],
      ),
      // a well-formed email is an invitation (whether or not an account has it)
      valid: async (s) => s.path.includes(w.myConversation) && await json(NewMember)(s),
    },
    {
      name: "DELETE /conversations/:id/members/:userId",
      requests: fc.tuple(segment(w.myConversation, w.theirConversation), segment(w.me.id, w.other.id)).map((
        [id, user],
      ) => ({
        method: "DELETE",
        path: `conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(user)}`,
      })),
      // the other user is a member of no conversation of mine, and the owner cannot be removed
      valid: () => Promise.resolve(false),
    },
  ];
}

function send(me: TestUser, s: Sent): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${me.accessToken}` };
  if (s.contentType) headers["content-type"] = s.contentType;
  const body = s.text === undefined
    ? undefined
    : s.contentType === null
    ? new TextEncoder().encode(s.text)
    : s.text;
  return fetch(functionsUrl(s.path), { method: s.method, headers, body });
}

// ---- the tests ------------------------------------------------------------------------------------

async function world(): Promise<World> {
  const me = await newUser("fuzz-me");
  const other = await newUser("fuzz-other");
  const setup = async (u: TestUser) => {
    const post = (path: string, body: unknown) =>
      fetch(functionsUrl(path), {
        method: "POST",
        headers: { authorization: `Bearer ${u.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const chat = await post("chat", {
      messages: [{ role: "user", content: "hello" }],
      stream: false,
      model: "gpt-4o-mini",
    });
    assert.equal(chat.status, 200);
    const key = await post("account/keys", { name: "fuzz" });
    assert.equal(key.status, 201);
    await settled(u.id);
    return {
      conversation: (await chat.json()).conversationId as string,
      key: (await key.json()).id as string,
    };
  };
  const mine = await setup(me);
  const theirs = await setup(other);
  return {
    me,
    other,
    myConversation: mine.conversation,
    theirConversation: theirs.conversation,
    myKey: mine.key,
    theirKey: theirs.key,
  };
}

let w: World;

Deno.test({
  name:
    "fuzzed requests to every JSON endpoint: never a 5xx; refused ones are a documented 4xx and change nothing",
  ...opts,
  fn: async (t) => {
    w = await world();
    const watched = [w.me.id, w.other.id];
    for (const [index, target] of targets(w).entries()) {
      await t.step(target.name, async () => {
        let baseline = await rowSnapshot(watched);
        const tally = { sent: 0, refused: 0, succeeded: 0, notSent: 0 };
        await fc.assert(
          fc.asyncProperty(target.requests, async (s) => {
            const valid = await target.valid(s);
            if (valid && target.callsProvider) tally.notSent++;
            fc.pre(!(valid && target.callsProvider));
            const what = `${s.method} /${s.path.slice(0, 120)} ${s.contentType ?? "(no type)"} ${
              (s.text ?? "").slice(0, 200)
            }`;
            const res = await send(w.me, s);
            const text = await res.text();
            tally.sent++;
            let judged = false;
            try {
              assert.ok(res.status < 500, `${what}: ${res.status} ${text.slice(0, 300)}`);
              assertNoSecrets(text, what);
              if (!valid) {
                assert.ok(res.status >= 400, `${what}: refused by the contract, answered ${res.status}`);
              }
              if (res.status >= 400) {
                tally.refused++;
                assertErrorShape(res.status, text, { openai: target.openai, what });
              } else tally.succeeded++;
              if (!valid) await assertNothingChanged(watched, baseline, what);
              judged = true;
            } finally {
              // after a success (which may change rows) or a failure (so that shrinking judges
              // each candidate on its own), the next request is compared with the rows as they are
              if (valid || !judged) baseline = await rowSnapshot(watched);
            }
          }),
          { seed: SEED + index, numRuns: RUNS, maxSkipsPerRun: 1_000 },
        );
        console.log(`[fuzz] ${target.name} (seed ${SEED + index}): ${JSON.stringify(tally)}`);
        assert.ok(tally.refused > RUNS / 2, "most generated requests are ones the contract refuses");
      });
    }
  },
});

Deno.test({
  name: "after the fuzzing: the other user's key and conversation are untouched, mine still work",
  ...opts,
  fn: async () => {
    const auth = (u: TestUser) => ({ authorization: `Bearer ${u.accessToken}` });
    const keys = await (await fetch(functionsUrl("account/keys"), { headers: auth(w.other) })).json();
    assert.deepEqual(keys.data.map((k: { id: string }) => k.id), [w.theirKey]);
    const history = await fetch(functionsUrl(`conversations/${w.theirConversation}/messages`), {
      headers: auth(w.other),
    });
    const { members, messages } = await history.json();
    assert.deepEqual(members.map((m: { userId: string }) => m.userId), [w.other.id]);
    assert.equal(messages.length, 2);
    const mine = await fetch(functionsUrl("account/keys"), { headers: auth(w.me) });
    assert.ok(
      (await mine.json()).data.some((k: { id: string }) => k.id === w.myKey),
      "my key is not revoked",
    );
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
