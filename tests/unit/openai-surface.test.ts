// The OpenAI surface's pieces without a stack: the request mapping (toChatBody), capability
// checks, the worst case's counting of tools and images, the router's respect for them, and the
// answer format's tool-call chunks (driven through the real stream with normalized events).

import assert from "node:assert/strict";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { CompletionRequest, toChatBody } from "../../supabase/functions/_shared/openai/schema.ts";
import { finishReason, openaiFormat } from "../../supabase/functions/_shared/openai/format.ts";
import { chatStream, type StreamOutcome } from "../../supabase/functions/_shared/chat/stream.ts";
import { briefFormat } from "../../supabase/functions/_shared/chat/format.ts";
import { providerRequest, routerInput } from "../../supabase/functions/_shared/chat/pipeline.ts";
import { openaiAdapter } from "../../supabase/functions/_shared/providers/openai/adapter.ts";
import { chatContext } from "../support/chat-context.ts";
import { needsOf, unmetNeed, unmetNeedOf } from "../../supabase/functions/_shared/providers/capabilities.ts";
import {
  CHAT_MODELS,
  type ChatModel,
  findModel,
  isShutDown,
} from "../../supabase/functions/_shared/catalog/index.ts";
import {
  estimatePromptTokens,
  estimateTokens,
  TOOLS_OVERHEAD_TOKENS,
} from "../../supabase/functions/_shared/tokens.ts";
import { decide } from "../../supabase/functions/_shared/router/index.ts";
import { ApiError } from "../../supabase/functions/_shared/http/errors.ts";
import type { ProviderEvent } from "../../supabase/functions/_shared/providers/types.ts";

const model = (id: string) => findModel(id) as ChatModel;
const TOOL = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object", properties: {} } },
};
const map = (raw: Record<string, unknown>) => toChatBody(CompletionRequest.parse({ model: "auto", ...raw }));

Deno.test("toChatBody: parts, tool calls and results, tools, tool_choice and response_format", () => {
  const body = map({
    messages: [
      { role: "developer", content: [{ type: "text", text: "Be brief." }] },
      {
        role: "user",
        content: [{ type: "text", text: "Hi" }, {
          type: "image_url",
          image_url: { url: "https://x.test/a.png" },
        }],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "get_time", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c1", content: [{ type: "text", text: "noon" }] },
    ],
    tools: [TOOL],
    tool_choice: { type: "function", function: { name: "get_time" } },
    response_format: { type: "json_schema", json_schema: { name: "t", schema: { type: "object" } } },
  });
  assert.deepEqual(body.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: [{ type: "text", text: "Hi" }, { type: "image", url: "https://x.test/a.png" }] },
    { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "get_time", arguments: "{}" }] },
    { role: "tool", content: "noon", toolCallId: "c1" },
  ]);
  assert.deepEqual(body.tools, [{ name: "get_time", parameters: { type: "object", properties: {} } }]);
  assert.deepEqual(body.toolChoice, { name: "get_time" });
  assert.deepEqual(body.responseFormat, { type: "json_schema", name: "t", schema: { type: "object" } });
  assert.equal(body.cache, undefined, "the response cache's default rule applies (temperature 0)");
  // tool_choice none without tools means nothing; text format is no format.
  const plain = map({
    messages: [{ role: "user", content: "x" }],
    tool_choice: "none",
    response_format: { type: "text" },
  });
  assert.equal(plain.toolChoice, undefined);
  assert.equal(plain.responseFormat, undefined);
});

Deno.test("toChatBody: clear 400s for what cannot be honoured", () => {
  const refuses = (raw: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(
      () => map(raw),
      (e) => e instanceof ApiError && e.status === 400 && pattern.test(e.message),
    );
  const user = { role: "user", content: "x" };
  refuses(
    { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }] },
    /input_audio are not supported/,
  );
  refuses({
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "javascript:alert(1)" } }] }],
  }, /http\(s\) or a base64/);
  refuses(
    { messages: [user, { role: "tool", tool_call_id: "nope", content: "x" }] },
    /must answer a tool call/,
  );
  refuses({ messages: [user], tool_choice: "required" }, /needs tools/);
  refuses(
    { messages: [user], tools: [TOOL], tool_choice: { type: "function", function: { name: "x" } } },
    /not among the tools/,
  );
  refuses({ messages: [user], tools: [TOOL, TOOL] }, /unique/);
  refuses({ messages: [user, { role: "assistant", content: "ok" }] }, /last message must be/);
});

Deno.test("capabilities: tools, vision, JSON modes and tool_choice per model and provider", () => {
  const needs = (raw: Record<string, unknown>) => needsOf(map(raw));
  const ask = [{ role: "user", content: "x" }];
  const withTools = needs({ messages: ask, tools: [TOOL], tool_choice: "required" });
  assert.deepEqual(withTools, { tools: true, images: false, toolChoice: "required" });
  assert.equal(unmetNeed(model("gpt-4o-mini"), withTools), null);
  assert.match(unmetNeed(model("sonar"), withTools)!, /sonar does not support tools/);
  assert.match(
    unmetNeed(model("qwen-plus"), withTools)!,
    /qwen-plus does not support tool_choice "required"/,
  );
  const image = needs({
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/a.png" } }] }],
  });
  assert.match(unmetNeed(model("claude-3-5-haiku"), image)!, /does not support image input \(vision\)/);
  assert.equal(unmetNeed(model("claude-haiku-4-5"), image), null);
  const json = needs({ messages: ask, response_format: { type: "json_object" } });
  assert.match(unmetNeed(model("claude-haiku-4-5"), json)!, /anthropic has no JSON mode/);
  assert.match(unmetNeed(model("sonar"), json)!, /supports json_schema/);
  assert.equal(unmetNeed(model("deepseek-chat"), json), null);
  // Tool calls in the history need a tools model even without tools offered.
  const history = needs({
    messages: [ask[0], {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{}" } }],
    }, { role: "tool", tool_call_id: "a", content: "1" }],
  });
  assert.equal(history.tools, true);
  // Every vision model states what one image can cost at worst.
  for (const m of CHAT_MODELS) {
    if (m.capabilities.includes("vision")) assert.ok(m.imageInputTokens! > 0, m.id);
  }
});

Deno.test("the worst case counts tool definitions (with their overhead), tool calls and schemas", () => {
  const messages = [{ role: "user" as const, content: "What time is it?" }];
  const base = estimatePromptTokens(messages);
  const tools = [{
    name: "get_time",
    description: "The time now",
    parameters: { type: "object", properties: {} },
  }];
  assert.equal(
    estimatePromptTokens(messages, { tools }),
    base + TOOLS_OVERHEAD_TOKENS + estimateTokens(JSON.stringify(tools)),
  );
  const schema = { type: "object", properties: { a: { type: "string" } } };
  assert.equal(
    estimatePromptTokens(messages, { responseFormat: { type: "json_schema", name: "s", schema } }),
    base + estimateTokens("s") + estimateTokens(JSON.stringify(schema)), // its name too
  );
  const call = { id: "call_1", name: "get_time", arguments: '{"zone":"UTC"}' };
  assert.equal(
    estimatePromptTokens([...messages, { role: "assistant", content: "", toolCalls: [call] }]),
    base + 4 + estimateTokens(call.id) + estimateTokens(call.name) + estimateTokens(call.arguments),
  );
});

Deno.test("the router: a request with tools gets a tools model, and research needs no web search then", () => {
  const messages = [{ role: "user", content: "Search the latest news about the election results today" }];
  const without = decide({ messages, isAvailable: () => true });
  assert.ok(without.required.includes("web_search"));
  const withTools = decide({ messages, needsCapabilities: ["tools"], isAvailable: () => true });
  assert.ok(withTools.required.includes("tools") && !withTools.required.includes("web_search"));
  assert.ok(withTools.ranked.length > 0);
  assert.ok(withTools.ranked.every((r) => r.model.capabilities.includes("tools" as never)));
});

const context = () => chatContext("gemini-2.5-flash");

async function streamed(events: ProviderEvent[]) {
  let outcome: { toolCalls: unknown[]; finishReason: string | null } | undefined;
  const body = chatStream(
    context(),
    openaiFormat(true),
    true,
    (async function* () {
      yield* events;
    })(),
    {
      onEnd: (o) => (outcome = o),
      abortUpstream: () => {},
      billedUsage: (reported) => reported ?? { inputTokens: 1, outputTokens: 1 },
    },
  );
  const chunks = [];
  for await (
    const e of body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
  ) {
    chunks.push(e.data === "[DONE]" ? e.data : JSON.parse(e.data));
  }
  return { chunks, outcome: outcome! };
}

Deno.test("streamed tool calls in OpenAI's chunks: role with the first call, ids made for id-less calls", async () => {
  // A Gemini-like answer: two whole calls without ids, finish STOP.
  const { chunks, outcome } = await streamed([
    { type: "tool_call", call: { index: 0, name: "get_time", arguments: "{}" } },
    { type: "tool_call", call: { index: 1, name: "get_weather", arguments: '{"city":"Paris"}' } },
    { type: "finish", reason: "STOP" },
    { type: "usage", usage: { inputTokens: 10, outputTokens: 7 } },
  ]);
  const deltas = chunks.filter((c) => c !== "[DONE]" && c.choices.length).map((c) => c.choices[0]);
  const id0 = deltas[0].delta.tool_calls[0].id;
  assert.match(id0, /^call_[0-9a-f]{24}$/);
  assert.deepEqual(deltas[0].delta, {
    role: "assistant",
    content: null,
    tool_calls: [{ index: 0, id: id0, type: "function", function: { name: "get_time", arguments: "" } }],
    refusal: null,
  });
  assert.deepEqual(deltas[1].delta, { tool_calls: [{ index: 0, function: { arguments: "{}" } }] });
  assert.equal(deltas[2].delta.tool_calls[0].index, 1);
  assert.equal(deltas[2].delta.tool_calls[0].function.name, "get_weather");
  assert.notEqual(deltas[2].delta.tool_calls[0].id, id0);
  assert.deepEqual(deltas.at(-1), { index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" });
  assert.equal(chunks.at(-1), "[DONE]");
  assert.deepEqual(chunks.at(-2).usage, {
    prompt_tokens: 10,
    completion_tokens: 7,
    total_tokens: 17,
    cost: chunks.at(-2).usage.cost,
  });
  assert.deepEqual(outcome.toolCalls.map((c) => (c as { name: string }).name), ["get_time", "get_weather"]);
  assert.equal(outcome.finishReason, "STOP");

  // A text answer opens with the role and empty content, as OpenAI's streams do.
  const text = await streamed([{ type: "text", text: "Hi" }, { type: "finish", reason: "stop" }]);
  assert.deepEqual(text.chunks[0].choices[0].delta, { role: "assistant", content: "", refusal: null });
  assert.deepEqual(text.chunks[1].choices[0].delta, { content: "Hi" });
});

Deno.test("a JSON answer with only tool calls has content null and finish_reason tool_calls", () => {
  const json = openaiFormat(false).json(context(), {
    text: "",
    reasoning: null,
    citations: [],
    toolCalls: [{ id: "c", name: "f", arguments: "{}" }],
    finishReason: "end_turn",
    inputTokens: 1,
    outputTokens: 2,
    cost: "0.1",
    simulated: true,
  }) as { choices: { message: Record<string, unknown>; finish_reason: string }[] };
  assert.deepEqual(json.choices[0].message, {
    role: "assistant",
    content: null,
    refusal: null,
    tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
  });
  assert.equal(json.choices[0].finish_reason, "tool_calls");
});

Deno.test("toChatBody: a 400 naming each field we cannot honour, unless it asks for nothing", () => {
  const ask = { messages: [{ role: "user", content: "x" }] };
  const refused: [string, unknown][] = [
    ["logprobs", true],
    ["top_logprobs", 2],
    ["modalities", ["text", "audio"]],
    ["audio", { voice: "alloy", format: "wav" }],
    ["functions", [{ name: "get_time", parameters: {} }]],
    ["function_call", "auto"],
    ["presence_penalty", 0.5],
    ["frequency_penalty", -1],
    ["logit_bias", { "50256": -100 }],
    ["web_search_options", {}],
  ];
  for (const [field, value] of refused) {
    assert.throws(
      () => map({ ...ask, [field]: value }),
      (e) =>
        e instanceof ApiError && e.status === 400 && e.message.startsWith(`${field}: `) &&
        (e.details as { field: string }).field === field,
      field,
    );
  }
  // The values that ask for nothing, and hints that leave the answer as it is, are accepted.
  const accepted = map({
    ...ask,
    logprobs: false,
    top_logprobs: 0,
    modalities: ["text"],
    audio: null,
    functions: null,
    presence_penalty: 0,
    frequency_penalty: 0,
    logit_bias: {},
    seed: 7,
    user: "u",
    metadata: { a: "b" },
    store: false,
    service_tier: "auto",
  });
  assert.equal(accepted.messages.length, 1);
});

Deno.test("parallel_tool_calls and reasoning_effort reach the request and choose the models", () => {
  const ask = [{ role: "user", content: "x" }];
  const one = map({ messages: ask, tools: [TOOL], parallel_tool_calls: false, reasoning_effort: "low" });
  assert.equal(one.parallelToolCalls, false);
  assert.equal(one.reasoningEffort, "low");
  const needs = needsOf(one);
  assert.deepEqual(needs, { tools: true, images: false, oneToolCall: true, reasoningEffort: "low" });
  assert.equal(unmetNeed(model("o3-mini"), needs), null);
  assert.match(unmetNeed(model("gpt-4o"), needs)!, /gpt-4o does not support reasoning_effort low$/);
  assert.equal(
    unmetNeed(model("gpt-5"), { ...needs, reasoningEffort: "minimal" }),
    null,
    "gpt-5 takes minimal",
  );
  assert.match(
    unmetNeed(model("o3-mini"), { ...needs, reasoningEffort: "minimal" })!,
    /o3-mini does not support reasoning_effort minimal; it takes low, medium, high/,
  );
  const sequential = needsOf(map({ messages: ask, tools: [TOOL], parallel_tool_calls: false }));
  assert.equal(unmetNeed(model("claude-haiku-4-5"), sequential), null);
  assert.match(
    unmetNeed(model("gemini-2.5-flash"), sequential)!,
    /gemini-2.5-flash does not support parallel_tool_calls false/,
  );
  // true is every provider's default; false without tools asks nothing.
  assert.equal(
    needsOf(map({ messages: ask, tools: [TOOL], parallel_tool_calls: true })).oneToolCall,
    undefined,
  );
  const noTools = map({ messages: ask, parallel_tool_calls: false });
  assert.equal(noTools.parallelToolCalls, undefined);
  assert.throws(() => CompletionRequest.parse({ model: "auto", messages: ask, reasoning_effort: "max" }));
});

Deno.test("finish reasons: refusals and safety stops are content_filter, a full context is length", () => {
  for (const raw of ["refusal", "SAFETY", "SPII", "PROHIBITED_CONTENT", "BLOCKLIST", "RECITATION"]) {
    assert.equal(finishReason(raw), "content_filter", raw);
  }
  for (const raw of ["model_context_window_exceeded", "max_tokens", "MAX_TOKENS", "model_length", "length"]) {
    assert.equal(finishReason(raw), "length", raw);
  }
  assert.equal(finishReason("end_turn"), "stop");
  assert.equal(finishReason("end_turn", true), "tool_calls");
});

Deno.test("reasoning_effort and parallel_tool_calls reach the provider's request body", () => {
  const ask = (extra: Record<string, unknown>) => {
    const body = toChatBody(
      CompletionRequest.parse({ messages: [{ role: "user", content: "hi" }], ...extra }),
    );
    const model = findModel(String(extra.model)) as ChatModel;
    const req = providerRequest({ ...chatContext(model.id), body }, model);
    const { init } = openaiAdapter().buildRequest(req, { baseUrl: "http://127.0.0.1:1", apiKey: "k" }, false);
    return JSON.parse(String(init.body));
  };
  const effort = CHAT_MODELS.find((m) => m.provider === "openai" && m.reasoningEfforts?.includes("low"))!;
  assert.equal(ask({ model: effort.id, reasoning_effort: "low" }).reasoning_effort, "low");
  const tool = { type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } };
  assert.equal(
    ask({ model: "gpt-4o-mini", tools: [tool], parallel_tool_calls: false }).parallel_tool_calls,
    false,
  );
  assert.equal(ask({ model: "gpt-4o-mini" }).reasoning_effort, undefined, "nothing asked, nothing sent");
});

Deno.test("a refusal reaches OpenAI clients as `refusal`, streamed and not; /chat shows it as the answer", async () => {
  const ends: StreamOutcome[] = [];
  const events = (async function* () {
    yield { type: "refusal", text: "I can't " } as ProviderEvent;
    yield { type: "refusal", text: "help with that." } as ProviderEvent;
    yield { type: "finish", reason: "stop" } as ProviderEvent;
  })();
  const stream = chatStream(chatContext("gpt-4o-mini"), openaiFormat(false), false, events, {
    onEnd: (o) => ends.push(o),
    abortUpstream: () => {},
    billedUsage: () => ({ inputTokens: 5, outputTokens: 4 }),
  });
  const chunks = (await new Response(stream).text()).split("\n\n").filter((l) => l.startsWith("data: {"))
    .map((l) => JSON.parse(l.slice(6)));
  const refusal = chunks.flatMap((c) =>
    c.choices.map((ch: { delta: { refusal?: string } }) => ch.delta.refusal ?? "")
  )
    .join("");
  assert.equal(refusal, "I can't help with that.");
  assert.ok(chunks.every((c) => !c.choices[0]?.delta.content), "no content beside the refusal");
  assert.equal(ends[0].text, "I can't help with that.", "stored as the model's reply");

  const summary = {
    text: "",
    refusal: "No.",
    reasoning: null,
    citations: [],
    toolCalls: [],
    finishReason: "stop",
    inputTokens: 5,
    outputTokens: 1,
    cost: "0.00001",
    simulated: false,
  };
  const message = (openaiFormat(false).json(chatContext("gpt-4o-mini"), summary) as {
    choices: { message: { content: string | null; refusal: string | null } }[];
  }).choices[0].message;
  assert.deepEqual([message.content, message.refusal], [null, "No."]);
  assert.equal((briefFormat.json(chatContext("gpt-4o-mini"), summary) as { content: string }).content, "No.");
});

Deno.test("usage reports cached prompt tokens and reasoning tokens as OpenAI does, when the provider told us", async () => {
  const answer = async (usage: Record<string, number>) => {
    const events = (async function* () {
      yield { type: "text", text: "ok" } as ProviderEvent;
      yield { type: "usage", usage } as unknown as ProviderEvent;
    })();
    const stream = chatStream(chatContext("gpt-4o-mini"), openaiFormat(true), false, events, {
      onEnd: () => {},
      abortUpstream: () => {},
      billedUsage: (reported) => reported!,
    });
    const chunks = (await new Response(stream).text()).split("\n\n").filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)));
    return chunks.at(-1).usage;
  };
  const detailed = await answer({
    inputTokens: 100,
    outputTokens: 40,
    cachedInputTokens: 64,
    reasoningTokens: 30,
  });
  assert.deepEqual(detailed.prompt_tokens_details, { cached_tokens: 64 });
  assert.deepEqual(detailed.completion_tokens_details, { reasoning_tokens: 30 });
  assert.equal(detailed.total_tokens, 140);
  const plain = await answer({ inputTokens: 10, outputTokens: 2 });
  assert.equal(plain.prompt_tokens_details, undefined, "nothing reported, nothing claimed");
  assert.equal(plain.completion_tokens_details, undefined);
});

Deno.test("a json_schema description is bounded like a tool's (it is prompt text the worst case must count)", () => {
  const ask = (description: string) =>
    CompletionRequest.safeParse({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      response_format: {
        type: "json_schema",
        json_schema: { name: "a", description, schema: { type: "object" } },
      },
    }).success;
  assert.equal(ask("d".repeat(10_000)), true);
  assert.equal(ask("d".repeat(10_001)), false);
});

Deno.test("stop: a need the reasoning models that sample at fixed settings, and xAI's, do not meet (they answer 400 to it)", () => {
  const ask = [{ role: "user", content: "List three colours" }];
  const needs = needsOf(map({ messages: ask, stop: "END" }));
  assert.deepEqual(needs, { tools: false, images: false, stop: true });
  assert.equal(needsOf(map({ messages: ask })).stop, undefined);
  for (const m of CHAT_MODELS) {
    const unmet = unmetNeedOf(m, needs);
    if (m.fixedSampling || m.refusesStop) {
      assert.deepEqual(unmet, {
        field: "stop",
        message: `Model ${m.id} does not support stop (stop sequences)`,
      });
      assert.equal(unmetNeed(m, needs), unmet!.message);
    } else assert.equal(unmet, null, m.id);
  }
  assert.ok(["o1", "o3-mini", "gpt-5"].every((id) => model(id).fixedSampling));
  // xAI: "Argument not supported on this model: stop" from its reasoning models only
  assert.deepEqual(
    CHAT_MODELS.filter((m) => m.provider === "xai" && unmetNeedOf(m, needs)).map((m) => m.id).sort(),
    ["grok-3-mini", "grok-4"],
  );
  // routed: those models are left out (the pipeline passes unmet needs as unavailability)
  const reasoning = decide({
    messages: [{ role: "user", content: "Prove that the square root of 2 is irrational, rigorously." }],
    isAvailable: (m) => !isShutDown(m) && unmetNeed(m as ChatModel, needs) === null,
  });
  assert.ok(reasoning.ranked.length > 0);
  assert.ok(reasoning.ranked.every((r) => !r.model.fixedSampling));
  // other needs are still named as the model's
  assert.equal(unmetNeedOf(model("gpt-4o"), { ...needs, reasoningEffort: "low" })?.field, "model");
});

Deno.test("stop: a blank stop sequence is refused by name for Anthropic's models, which answer 400 to it; empty ones are invalid", () => {
  const ask = [{ role: "user", content: "List three colours" }];
  const blank = needsOf(map({ messages: ask, stop: ["END", "\n"] }));
  assert.deepEqual(blank, { tools: false, images: false, stop: true, blankStop: true });
  assert.equal(needsOf(map({ messages: ask, stop: ["\n\nHuman:"] })).blankStop, undefined);
  for (const m of CHAT_MODELS.filter((m) => !m.fixedSampling && !m.refusesStop)) {
    const unmet = unmetNeedOf(m, blank);
    if (m.provider === "anthropic") {
      assert.deepEqual(unmet, {
        field: "stop",
        message:
          `Model ${m.id} does not support stop sequences of whitespace only (anthropic needs a non-whitespace character in each)`,
      });
    } else assert.equal(unmet, null, m.id);
    assert.equal(unmetNeedOf(m, { ...blank, blankStop: undefined }), null, m.id);
  }
  // routed: Anthropic's models are left out
  const decision = decide({
    messages: [{ role: "user", content: "Write a short poem about the sea, one line per stanza." }],
    isAvailable: (m) => !isShutDown(m) && unmetNeed(m as ChatModel, blank) === null,
  });
  assert.ok(decision.ranked.length > 0);
  assert.ok(decision.ranked.every((r) => r.model.provider !== "anthropic"));
  // An empty stop sequence is no stop sequence: refused as invalid, as /chat refuses it.
  for (const stop of ["", ["END", ""]]) {
    assert.equal(CompletionRequest.safeParse({ model: "gpt-4o", messages: ask, stop }).success, false);
  }
  assert.equal(CompletionRequest.safeParse({ model: "gpt-4o", messages: ask, stop: [" "] }).success, true);
});

Deno.test("the router reads the last user turn's images; a vision model is still needed for any image", () => {
  const image = { type: "image_url", image_url: { url: "https://example.com/cat.png" } };
  const body = map({
    messages: [
      { role: "user", content: [{ type: "text", text: "What is in this picture?" }, image] },
      { role: "assistant", content: "A cat on a sofa." },
      { role: "user", content: "Write a Python function that parses an ISO 8601 date, with unit tests." },
    ],
  });
  const input = routerInput(body);
  assert.deepEqual(input.attachments, []);
  assert.deepEqual(input.needsCapabilities, ["vision"]);
  const d = decide({ ...input, isAvailable: (m) => !isShutDown(m) });
  assert.equal(d.intent, "code");
  assert.ok(d.required.includes("vision"));
  assert.ok(d.ranked.length > 0 && d.ranked.every((r) => r.model.capabilities.includes("vision")));
  // the image in the turn being answered is read as such
  const now = routerInput(
    map({ messages: [{ role: "user", content: [{ type: "text", text: "And this?" }, image] }] }),
  );
  assert.equal(now.attachments!.length, 1);
  assert.ok(["vision", "image_generation"].includes(decide({ ...now, isAvailable: () => true }).intent));
});
