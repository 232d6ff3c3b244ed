// The OpenAI Chat Completions adapter against real recorded provider responses: text, reasoning,
// tool calls, finish reason and usage must come out exactly as the provider reported them.

import assert from "node:assert/strict";
import { openaiAdapter } from "../../supabase/functions/_shared/providers/openai/adapter.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import { type ChatModel, findModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { chunkedStream, fixtureText, manifest, sseBody } from "../support/fixtures.ts";
import type { ProviderRequest } from "../../supabase/functions/_shared/providers/types.ts";

const adapter = openaiAdapter();
// The OpenAI wire format as OpenAI (and Azure OpenAI) speak it; other providers' files are
// replayed by their own adapters' tests.
const entries = manifest().filter((e) =>
  e.wireFormat === "openai-chat" && ["openai", "azure-openai"].includes(e.provider)
);

Deno.test("the manifest has OpenAI-format fixtures to replay", () => {
  assert.ok(entries.length >= 5, `found ${entries.length}`);
});

for (const entry of entries) {
  Deno.test(`replays ${entry.file}`, async () => {
    const got = entry.streaming
      ? await collect(adapter.parseStream(chunkedStream(sseBody(entry, { done: true }))))
      : adapter.parseResponse(JSON.parse(fixtureText(entry)));
    assert.equal(got.text, entry.expectedText);
    assert.equal(got.reasoning, entry.expectedReasoning);
    assert.deepEqual(got.toolCalls, entry.expectedToolCalls ?? []);
    assert.equal(got.finishReason, entry.finishReason);
    assert.ok(got.usage, "usage reported");
    assert.equal(got.usage.inputTokens, entry.expectedUsage!.inputTokens);
    assert.equal(got.usage.outputTokens, entry.expectedUsage!.outputTokens);
    if (entry.usageDetails?.reasoningTokens !== undefined) {
      assert.equal(got.usage.reasoningTokens, entry.usageDetails.reasoningTokens);
    }
    if (entry.usageDetails?.cachedInputTokens !== undefined) {
      assert.equal(got.usage.cachedInputTokens, entry.usageDetails.cachedInputTokens);
    }
  });
}

Deno.test("the same stream gives the same result however the network cuts it", async () => {
  const entry = entries.find((e) => e.file === "openai/chat-text-include-usage.chunks.txt")!;
  const body = sseBody(entry, { done: true });
  const results = await Promise.all(
    [1, 2, 3, 99].map((seed) => collect(adapter.parseStream(chunkedStream(body, seed)))),
  );
  for (const r of results) assert.deepEqual(r, results[0]);
});

Deno.test("requests ask for usage in streams and carry the output budget", () => {
  const model = findModel("gpt-4o-mini") as ChatModel;
  const { url, init } = adapter.buildRequest(
    { model, messages: [{ role: "user", content: "Hi" }], maxOutputTokens: 123, temperature: 0 },
    { baseUrl: "http://127.0.0.1:1/v1/", apiKey: "k" },
    true,
  );
  assert.equal(url, "http://127.0.0.1:1/v1/chat/completions");
  const body = JSON.parse(init.body as string);
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(body.max_completion_tokens, 123);
  assert.equal(body.model, "gpt-4o-mini");
  assert.equal(body.temperature, 0);
  assert.equal((init.headers as Record<string, string>).authorization, "Bearer k");
  const nonStream = JSON.parse(
    adapter.buildRequest({ model, messages: [], maxOutputTokens: 1 }, { baseUrl: "x", apiKey: "k" }, false)
      .init.body as string,
  );
  assert.equal(nonStream.stream_options, undefined);
});

Deno.test("an error event inside the stream is a provider error, not silent success", async () => {
  const body =
    'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: {"error":{"message":"overloaded"}}\n\n';
  await assert.rejects(collect(adapter.parseStream(chunkedStream(body))), /overloaded/);
});

/** The JSON body buildRequest makes for a request to a catalog model. */
function requestBody(id: string, extra: Partial<ProviderRequest> = {}): Record<string, unknown> {
  const model = findModel(id) as ChatModel;
  const { init } = adapter.buildRequest(
    { model, messages: [{ role: "user", content: "Hi" }], maxOutputTokens: 100, ...extra },
    { baseUrl: "https://x.test/v1", apiKey: "k" },
    true,
  );
  return JSON.parse(init.body as string);
}

Deno.test("reasoning models (catalog fixedSampling) get no temperature or top_p; others get both", () => {
  const sampling = { temperature: 0, topP: 0.9 };
  for (const id of ["o1", "o3-mini", "gpt-5"]) {
    const body = requestBody(id, sampling);
    assert.equal(body.temperature, undefined, id);
    assert.equal(body.top_p, undefined, id);
    assert.equal(body.max_completion_tokens, 100, id);
  }
  const body = requestBody("gpt-4o", sampling);
  assert.equal(body.temperature, 0);
  assert.equal(body.top_p, 0.9);
});

Deno.test("reasoning_effort and parallel_tool_calls are carried (the latter only with tools)", () => {
  const tools = [{ name: "get_time" }];
  const body = requestBody("gpt-5", { reasoningEffort: "minimal", parallelToolCalls: false, tools });
  assert.equal(body.reasoning_effort, "minimal");
  assert.equal(body.parallel_tool_calls, false);
  // OpenAI refuses parallel_tool_calls without tools.
  assert.equal(requestBody("gpt-4o", { parallelToolCalls: false }).parallel_tool_calls, undefined);
  const plain = requestBody("gpt-4o", { tools });
  assert.equal(plain.parallel_tool_calls, undefined);
  assert.equal(plain.reasoning_effort, undefined);
});

Deno.test("a refusal (Structured Outputs) is carried as a refusal, streamed and not streamed", async () => {
  const sorry = "I'm sorry, I can't help with that.";
  const stream = [
    {
      choices: [{ index: 0, delta: { role: "assistant", content: null, refusal: "" }, finish_reason: null }],
    },
    { choices: [{ index: 0, delta: { refusal: "I'm sorry, " }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { refusal: "I can't help with that." }, finish_reason: null }] },
    { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
    { choices: [], usage: { prompt_tokens: 20, completion_tokens: 10 } },
  ].map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
  const got = await collect(adapter.parseStream(chunkedStream(stream, 3)));
  assert.equal(got.refusal, sorry);
  assert.equal(got.text, "");
  assert.equal(got.finishReason, "stop");
  const whole = adapter.parseResponse({
    choices: [{ message: { role: "assistant", content: null, refusal: sorry }, finish_reason: "stop" }],
    usage: { prompt_tokens: 20, completion_tokens: 10 },
  });
  assert.equal(whole.refusal, sorry);
  assert.equal(whole.text, "");
});
