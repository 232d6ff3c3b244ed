// Provider faults and client disconnects during a chat: the client sees a clean error, and the
// database ends every admitted request exactly once, billed for what was produced. The test
// stack runs with NEXUS_PROVIDER_TIMEOUT_MS=3000 and NEXUS_PROVIDER_IDLE_TIMEOUT_MS=2000.

import assert from "node:assert/strict";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function simulator(): string {
  return (stack() as unknown as { simulators: Record<string, string> }).simulators.openai;
}

async function fault(rule: Record<string, unknown>) {
  const res = await fetch(new URL("/__simulator/faults", simulator()), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...rule, model: "gpt-4o-mini" }),
  });
  assert.equal(res.ok, true);
  await res.body?.cancel();
}

function chat(user: TestUser, body: Record<string, unknown>, signal?: AbortSignal) {
  return fetch(functionsUrl("chat"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", ...body }),
    signal,
  });
}

async function events(res: Response) {
  const out: Record<string, unknown>[] = [];
  for await (
    const e of res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
  ) {
    out.push(e.data === "[DONE]" ? { done: true } : JSON.parse(e.data));
  }
  return out;
}

async function onlyRequest(userId: string) {
  await settled(userId);
  const [request] = await database()`select * from public.requests where user_id = ${userId}`;
  const usage = await database()`select * from public.usage_records where user_id = ${userId}`;
  return { request, usage };
}

Deno.test({
  name: "a stream cut mid-way ends with an error event and is billed for what was produced",
  ...opts,
  fn: async () => {
    const user = await newUser("cut");
    await fault({ mode: "cut_stream", afterTokens: 6 });
    const res = await chat(user, { messages: [{ role: "user", content: "cut me off" }] });
    assert.equal(res.status, 200);
    const got = await events(res);
    const text = got.filter((e) => "delta" in e).map((e) => e.delta).join("");
    assert.ok(text.length > 0, "some text arrived before the cut");
    const error = got.find((e) => "error" in e)?.error as { code: string };
    assert.equal(error.code, "provider_error");
    assert.deepEqual(got.at(-1), { done: true });

    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "settled");
    assert.equal(usage.length, 1);
    assert.equal(usage[0].status, "error");
    assert.ok(usage[0].output_tokens > 0, "billed for the produced tokens");
    assert.ok(Number(usage[0].cost) > 0, "never $0 for produced output");
    const [message] =
      await database()`select content, status from public.messages where request_id = ${request.id} and role = 'assistant'`;
    assert.equal(message.content, text);
    assert.equal(message.status, "error");
  },
});

Deno.test({
  name: "a stream that stalls is ended with provider_timeout and billed for what was produced",
  ...opts,
  fn: async () => {
    const user = await newUser("stall");
    await fault({ mode: "stall", afterTokens: 4 });
    const res = await chat(user, { messages: [{ role: "user", content: "then go quiet" }] });
    const got = await events(res);
    assert.equal((got.find((e) => "error" in e)?.error as { code: string }).code, "provider_timeout");
    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "settled");
    assert.equal(usage[0].status, "error");
    assert.ok(usage[0].output_tokens > 0);
  },
});

Deno.test({
  name: "a provider that never answers: 504 provider_timeout, request released",
  ...opts,
  fn: async () => {
    const user = await newUser("silent");
    await fault({ mode: "stall" });
    const res = await chat(user, { messages: [{ role: "user", content: "hello?" }], stream: false });
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, "provider_timeout");
    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "released");
    assert.equal(usage.length, 0);
    await fetch(new URL("/__simulator/faults", simulator()), { method: "DELETE" }).then((r) =>
      r.body?.cancel()
    );
  },
});

Deno.test({
  name: "a client that disconnects mid-stream: upstream stopped, billed for the tokens produced",
  ...opts,
  fn: async () => {
    const user = await newUser("leaver");
    const abort = new AbortController();
    const res = await chat(user, {
      messages: [{ role: "user", content: "a long answer please" }],
      maxTokens: 400,
    }, abort.signal);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
      .getReader();
    let deltas = 0;
    while (deltas < 3) {
      const { value } = await reader.read();
      if (value && value.data.includes('"delta"')) deltas++;
    }
    abort.abort();
    await reader.cancel().catch(() => {});

    const { request, usage } = await onlyRequest(user.id);
    assert.equal(request.status, "settled");
    assert.equal(usage.length, 1);
    assert.equal(usage[0].status, "cancelled");
    assert.ok(
      usage[0].output_tokens > 0 && usage[0].output_tokens < 400,
      `billed ${usage[0].output_tokens} produced tokens, not the budget`,
    );
    assert.ok(Number(usage[0].cost) > 0);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
