// The OpenAI-compatible surface with tools, images, JSON modes and the response cache, judged by
// the official `openai` SDK (and the Vercel AI SDK): models of three provider APIs (routed by the
// stack to their simulators, each in its own wire format) call a tool, get its result back and
// answer; tool_choice, capability refusals, JSON modes, admission's worst case with images, and
// cache hits in OpenAI's exact shapes.

import assert from "node:assert/strict";
import OpenAI from "openai";
import { closeDatabase, database, functionsUrl, newUser, settled, type TestUser } from "../support/users.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const WEATHER_SCHEMA = {
  type: "object",
  properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
  required: ["city", "unit"],
};
/** What every simulator's call carries for WEATHER_SCHEMA (scripts/simulators/tools.ts). */
const EXPECTED_ARGS = { city: "sample city", unit: "celsius" };
const RESULT = '{"temperature":21,"sky":"clear"}';
const TOOLS: OpenAI.Chat.ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "Weather now", parameters: WEATHER_SCHEMA },
  },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
];
const ASK: OpenAI.Chat.ChatCompletionMessageParam[] = [{
  role: "user",
  content: "What is the weather in Paris?",
}];
/** A 1×1 PNG. */
const PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

async function keyFor(user: TestUser): Promise<string> {
  const res = await fetch(functionsUrl("account/keys"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "tools" }),
  });
  assert.equal(res.status, 201);
  return (await res.json()).key;
}

async function client(tier?: string): Promise<{ user: TestUser; sdk: OpenAI }> {
  const user = await newUser("tools");
  if (tier) await database()`select public.set_user_tier(${user.id}, ${tier})`;
  return {
    user,
    sdk: new OpenAI({ apiKey: await keyFor(user), baseURL: functionsUrl("openai"), maxRetries: 0 }),
  };
}

type FunctionCall = OpenAI.Chat.ChatCompletionMessageFunctionToolCall;

for (const model of ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", "command-a"]) {
  Deno.test({
    name: `${model}: tool call round trip through the openai SDK, JSON and streamed`,
    ...opts,
    fn: async () => {
      const { user, sdk } = await client("enterprise");

      // 1. The model calls the first tool: OpenAI's message shape, finish_reason tool_calls.
      const { data: first, response } = await sdk.chat.completions.create({
        model,
        messages: ASK,
        tools: TOOLS,
      })
        .withResponse();
      assert.equal(first.object, "chat.completion");
      assert.equal(first.model, model);
      const choice = first.choices[0];
      assert.equal(choice.finish_reason, "tool_calls");
      assert.equal(choice.message.role, "assistant");
      assert.equal(choice.message.content, null, "only a tool call: content is null");
      assert.equal(choice.message.tool_calls?.length, 1);
      const call = choice.message.tool_calls![0] as FunctionCall;
      assert.equal(call.type, "function");
      assert.match(call.id, /\S{6,}/);
      assert.equal(call.function.name, "get_weather");
      assert.deepEqual(JSON.parse(call.function.arguments), EXPECTED_ARGS);
      const cost = Number(response.headers.get("x-nexus-cost"));
      assert.ok(cost > 0, "a tool call is output, and billed");
      assert.equal((first.usage as unknown as { cost: number }).cost, cost);

      // 2. Streamed: the call's first chunk has index, id, type and the name with empty arguments;
      //    then argument fragments; finish_reason tool_calls; the cost in the usage chunk.
      const stream = await sdk.chat.completions.create({
        model,
        messages: ASK,
        tools: TOOLS,
        stream: true,
        stream_options: { include_usage: true },
      });
      const deltas: OpenAI.Chat.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      let finish: string | null = null;
      let usage: (OpenAI.CompletionUsage & { cost?: number }) | undefined;
      let role: string | undefined;
      for await (const chunk of stream) {
        assert.equal(chunk.object, "chat.completion.chunk");
        const c = chunk.choices[0];
        role ??= c?.delta.role;
        deltas.push(...(c?.delta.tool_calls ?? []));
        finish = c?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(role, "assistant");
      assert.equal(finish, "tool_calls");
      const [head, ...rest] = deltas;
      assert.deepEqual(
        { index: head.index, type: head.type, function: head.function },
        { index: 0, type: "function", function: { name: "get_weather", arguments: "" } },
      );
      assert.match(head.id ?? "", /\S{6,}/);
      assert.ok(
        rest.length > 0 && rest.every((d) => d.index === 0 && d.id === undefined && !d.function?.name),
      );
      assert.deepEqual(JSON.parse(rest.map((d) => d.function?.arguments ?? "").join("")), EXPECTED_ARGS);
      assert.ok(usage && usage.completion_tokens > 0 && (usage.cost ?? 0) > 0);

      // 3. The client runs the tool and sends its result: the answer is text that uses it.
      const answer = await sdk.chat.completions.create({
        model,
        tools: TOOLS,
        messages: [...ASK, choice.message, { role: "tool", tool_call_id: call.id, content: RESULT }],
      });
      assert.equal(answer.choices[0].finish_reason, "stop");
      assert.equal(answer.choices[0].message.tool_calls, undefined);
      assert.ok(answer.choices[0].message.content!.includes(RESULT), answer.choices[0].message.content!);

      await settled(user.id);
      const records = await database()`
        select status, cost::text from public.usage_records where user_id = ${user.id} order by created_at`;
      assert.equal(records.length, 3, "each request settled once (tool calls are not released as empty)");
      assert.ok(records.every((r) => r.status === "complete" && Number(r.cost) > 0));
    },
  });
}

Deno.test({
  name: "tool_choice: a named function, required, none",
  ...opts,
  fn: async () => {
    const { user, sdk } = await client("pro");
    const ask = (model: string, tool_choice: OpenAI.Chat.ChatCompletionToolChoiceOption) =>
      sdk.chat.completions.create({ model, messages: ASK, tools: TOOLS, tool_choice });
    const calledName = (answer: OpenAI.Chat.ChatCompletion) =>
      (answer.choices[0].message.tool_calls![0] as FunctionCall).function.name;
    const named = await ask("gpt-4o-mini", { type: "function", function: { name: "get_time" } });
    assert.equal(calledName(named), "get_time");
    assert.equal(calledName(await ask("claude-haiku-4-5", "required")), "get_weather");
    const none = await ask("gemini-2.5-flash", "none");
    assert.equal(none.choices[0].finish_reason, "stop");
    assert.equal(none.choices[0].message.tool_calls, undefined);
    assert.match(none.choices[0].message.content!, /weather in Paris/);

    await assert.rejects(
      sdk.chat.completions.create({
        model: "gpt-4o-mini",
        messages: ASK,
        tools: TOOLS,
        tool_choice: { type: "function", function: { name: "nope" } },
      }),
      (e) => e instanceof OpenAI.BadRequestError && /not among the tools/.test(e.message),
    );
    await assert.rejects(
      sdk.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [...ASK, { role: "tool", tool_call_id: "call_unknown", content: "x" }],
      }),
      (e) => e instanceof OpenAI.BadRequestError && /tool message must answer a tool call/.test(e.message),
    );
    await settled(user.id);
  },
});

Deno.test({
  name:
    "capabilities: tools, images and JSON modes a model lacks are a 400 naming both; auto routes around them",
  ...opts,
  fn: async () => {
    const { user, sdk } = await client("enterprise");
    const refused = async (body: Record<string, unknown>, pattern: RegExp) =>
      await assert.rejects(
        sdk.chat.completions.create(body as never),
        (e) => e instanceof OpenAI.BadRequestError && pattern.test(e.message) && e.param === "model",
      );
    await refused({ model: "sonar", messages: ASK, tools: TOOLS }, /Model sonar does not support tools/);
    const image = [{
      role: "user",
      content: [{ type: "text", text: "What is in this picture?" }, {
        type: "image_url",
        image_url: { url: PIXEL },
      }],
    }];
    await refused(
      { model: "claude-3-5-haiku", messages: image },
      /claude-3-5-haiku does not support image input/,
    );
    await refused(
      { model: "claude-haiku-4-5", messages: ASK, response_format: { type: "json_object" } },
      /claude-haiku-4-5 does not support response_format json_object \(anthropic has no JSON mode\)/,
    );
    await refused(
      { model: "qwen-plus", messages: ASK, tools: TOOLS, tool_choice: "required" },
      /qwen-plus does not support tool_choice "required"/,
    );
    await assert.rejects(
      sdk.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{
          role: "user",
          content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }],
        }],
      }),
      (e) => e instanceof OpenAI.BadRequestError && /http\(s\) or a base64 data:image/.test(e.message),
    );

    // The router only picks models that can: vision for the image, a JSON mode, tools.
    const models = await (await fetch(functionsUrl("models"), {
      headers: { authorization: `Bearer ${user.accessToken}` },
    })).json() as { data: { id: string; capabilities: string[] }[] };
    const capabilities = new Map(models.data.map((m) => [m.id, m.capabilities]));
    const seen = await sdk.chat.completions.create({ model: "auto", messages: image as never });
    assert.ok(capabilities.get(seen.model)!.includes("vision"), `${seen.model} sees images`);
    assert.match(seen.choices[0].message.content!, /What is in this picture\?/);
    const called = await sdk.chat.completions.create({ model: "auto", messages: ASK, tools: TOOLS });
    assert.ok(capabilities.get(called.model)!.includes("tools"));
    assert.equal(called.choices[0].finish_reason, "tool_calls");
    const json = await sdk.chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "Summarize the weather as JSON" }],
      response_format: { type: "json_schema", json_schema: { name: "weather", schema: WEATHER_SCHEMA } },
    });
    assert.deepEqual(JSON.parse(json.choices[0].message.content!), EXPECTED_ARGS, json.model);
    await settled(user.id);
  },
});

Deno.test({
  name: "response_format json_object and json_schema; an image part for a vision model",
  ...opts,
  fn: async () => {
    const { user, sdk } = await client("pro");
    for (const model of ["gpt-4o-mini", "gemini-2.5-flash", "command-a"]) {
      const object = await sdk.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Reply in JSON" }],
        response_format: { type: "json_object" },
      });
      assert.equal(JSON.parse(object.choices[0].message.content!).simulated, true, model);
      const schema = await sdk.chat.completions.create({
        model,
        messages: [{ role: "user", content: "The weather, as JSON" }],
        response_format: { type: "json_schema", json_schema: { name: "weather", schema: WEATHER_SCHEMA } },
      });
      assert.deepEqual(JSON.parse(schema.choices[0].message.content!), EXPECTED_ARGS, model);
    }
    const plain = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "What is in this picture?" }],
    });
    const seen = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: PIXEL, detail: "low" } },
        ],
      }],
    });
    assert.match(seen.choices[0].message.content!, /What is in this picture\?/);
    assert.equal(seen.usage!.prompt_tokens - plain.usage!.prompt_tokens, 85, "the provider read one image");
    await settled(user.id);
  },
});

Deno.test({
  name: "admission's worst case counts images: free plan admits one image on gpt-4o-mini, refuses two",
  ...opts,
  fn: async () => {
    // gpt-4o-mini bills up to 48,169 tokens per image: one image + the default 4,096-token budget
    // stays under the free plan's $0.01 cap at worst case, two do not.
    const { user, sdk } = await client();
    const part = { type: "image_url" as const, image_url: { url: PIXEL } };
    const ask = (images: number) =>
      sdk.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{
          role: "user",
          content: [{ type: "text", text: "Compare" }, ...Array(images).fill(part)],
        }],
      });
    const one = await ask(1);
    assert.equal(one.choices[0].finish_reason, "stop");
    await assert.rejects(
      ask(2),
      (e) => e instanceof OpenAI.PermissionDeniedError && /worst-case cost exceeds/.test(e.message),
    );
    await settled(user.id);
    const [{ worst }] = await database()`
      select max(worst_case_cost)::text as worst from public.requests where user_id = ${user.id}`;
    // (prompt text + 48,169) × $0.15/M + 4,096 × $0.60/M
    assert.ok(Number(worst) > 0.0072 + 0.0024 && Number(worst) <= 0.01, worst);
  },
});

Deno.test({
  name: "response cache on the OpenAI surface: the second identical request (temperature 0) is a free hit",
  ...opts,
  fn: async () => {
    const { user, sdk } = await client();
    const request = {
      model: "gpt-4o-mini",
      temperature: 0,
      messages: [{ role: "user" as const, content: `Cache me ${crypto.randomUUID()}` }],
    };
    const { data: first, response: r1 } = await sdk.chat.completions.create(request).withResponse();
    await settled(user.id);
    const { data: second, response: r2 } = await sdk.chat.completions.create(request).withResponse();
    assert.equal(r1.headers.get("x-cache"), null);
    assert.equal(r2.headers.get("x-cache"), "HIT");
    for (const answer of [first, second]) {
      assert.deepEqual(Object.keys(answer).sort(), [
        "choices",
        "created",
        "id",
        "model",
        "object",
        "system_fingerprint",
        "usage",
      ]);
      assert.equal(answer.object, "chat.completion");
      assert.match(answer.id, /^chatcmpl-/);
      assert.deepEqual(Object.keys(answer.choices[0]).sort(), [
        "finish_reason",
        "index",
        "logprobs",
        "message",
      ]);
      assert.equal(answer.choices[0].finish_reason, "stop");
      assert.equal(answer.model, "gpt-4o-mini");
    }
    assert.notEqual(second.id, first.id);
    assert.equal(second.choices[0].message.content, first.choices[0].message.content);
    assert.deepEqual(
      [second.usage!.prompt_tokens, second.usage!.completion_tokens],
      [first.usage!.prompt_tokens, first.usage!.completion_tokens],
    );
    assert.ok(Number(r1.headers.get("x-nexus-cost")) > 0);
    assert.equal(Number(r2.headers.get("x-nexus-cost")), 0);
    assert.equal((second.usage as unknown as { cost: number }).cost, 0);

    // The same request streamed is a hit too, in chat.completion.chunk shapes with the usage chunk.
    const stream = await sdk.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    }).withResponse();
    assert.equal(stream.response.headers.get("x-cache"), "HIT");
    let text = "";
    let last: OpenAI.Chat.ChatCompletionChunk | undefined;
    for await (const chunk of stream.data) {
      text += chunk.choices[0]?.delta.content ?? "";
      last = chunk;
    }
    assert.equal(text, first.choices[0].message.content);
    assert.deepEqual(last!.choices, []);
    assert.equal((last!.usage as unknown as { cost: number }).cost, 0);

    // Requests with tools are not cached: each one reaches the provider and is charged.
    const withTools = { ...request, tools: TOOLS };
    await sdk.chat.completions.create(withTools);
    const { response: r4 } = await sdk.chat.completions.create(withTools).withResponse();
    assert.equal(r4.headers.get("x-cache"), null);
    assert.ok(Number(r4.headers.get("x-nexus-cost")) > 0);

    await settled(user.id);
    const records = await database()`
      select status, cost::text from public.usage_records where user_id = ${user.id} order by created_at`;
    assert.deepEqual(records.map((r) => r.status), ["complete", "cached", "cached", "complete", "complete"]);
    assert.deepEqual(records.slice(1, 3).map((r) => Number(r.cost)), [0, 0], "hits are not charged");
  },
});

Deno.test({
  name: "the Vercel AI SDK: generateText with a tool runs it and answers with its result",
  ...opts,
  fn: async () => {
    const { generateText, jsonSchema, stepCountIs, tool } = await import("ai");
    const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
    const user = await newUser("vercel-tools");
    const nexus = createOpenAICompatible({
      name: "nexus",
      apiKey: await keyFor(user),
      baseURL: functionsUrl("openai"),
    });
    const calls: unknown[] = [];
    const result = await generateText({
      model: nexus("gpt-4o-mini"),
      prompt: "What is the weather in Paris?",
      tools: {
        get_weather: tool({
          description: "Weather now",
          inputSchema: jsonSchema<{ city: string; unit: string }>(WEATHER_SCHEMA),
          execute: (input) => {
            calls.push(input);
            return Promise.resolve(JSON.parse(RESULT));
          },
        }),
      },
      stopWhen: stepCountIs(2),
    });
    assert.deepEqual(calls, [EXPECTED_ARGS]);
    assert.equal(result.steps.length, 2);
    assert.equal(result.steps[0].finishReason, "tool-calls");
    assert.ok(result.text.includes("temperature"), result.text);
    await settled(user.id);
  },
});

Deno.test({ name: "close the database pool", ...opts, fn: closeDatabase });
