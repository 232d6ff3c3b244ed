// Tools, JSON modes and images in the simulated providers, each judged by its official SDK
// (openai, @anthropic-ai/sdk, @google/genai, cohere-ai): a request with tools gets a call to the
// first (or the named/required) tool with arguments built from its schema's required properties,
// in the provider's own shapes, streamed and not; after the tool's result the answer is text that
// quotes it; a JSON mode gets valid JSON with the schema's required properties; images are read.

import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { FunctionCallingConfigMode, GoogleGenAI } from "@google/genai";
import { CohereClientV2 } from "cohere-ai";
import { startOpenAISimulator } from "../../scripts/simulators/openai.ts";
import { startAnthropicSimulator } from "../../scripts/simulators/anthropic.ts";
import { startGeminiSimulator } from "../../scripts/simulators/gemini.ts";
import { startCohereSimulator } from "../../scripts/simulators/cohere.ts";
import type { Simulator } from "../../scripts/simulators/http.ts";
import { argumentsFor } from "../../scripts/simulators/tools.ts";
import { countTokens, tokenize } from "../../scripts/simulators/tokens.ts";

const FAST = { tokensPerSecond: 0, firstTokenLatencyMs: 0 };

const WEATHER_SCHEMA = {
  type: "object",
  properties: {
    city: { type: "string" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1 },
    detailed: { type: "boolean" },
  },
  required: ["city", "unit", "days"],
};
const EXPECTED_ARGS = { city: "sample city", unit: "celsius", days: 1 };
const RESULT = '{"temperature":21,"sky":"clear"}';
/** A 1×1 PNG. */
const PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

async function withSim<T extends Simulator>(start: Promise<T>, fn: (sim: T) => Promise<void>) {
  const sim = await start;
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

Deno.test("argumentsFor: the schema's required properties, by const, enum, minimum or type", () => {
  assert.deepEqual(argumentsFor(WEATHER_SCHEMA), EXPECTED_ARGS);
  assert.deepEqual(
    argumentsFor({
      type: "object",
      properties: {
        tags: { type: "array", items: { type: "string" }, minItems: 2 },
        where: { type: "object", properties: { lat: { type: "number" } }, required: ["lat"] },
        kind: { const: "x" },
        maybe: { type: ["null", "boolean"] },
      },
      required: ["tags", "where", "kind", "maybe"],
    }),
    { tags: ["sample tags", "sample tags"], where: { lat: 1 }, kind: "x", maybe: true },
  );
  assert.deepEqual(argumentsFor({ type: "object" }), {});
});

// ---------------------------------------------------------------------------------------------
// OpenAI

const OPENAI_TOOLS: OpenAI.Chat.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
  { type: "function", function: { name: "get_weather", parameters: WEATHER_SCHEMA } },
];

Deno.test("openai simulator: tool call round trip, streamed and not, through the openai SDK", async () => {
  await withSim(startOpenAISimulator(FAST), async (sim) => {
    const client = new OpenAI({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 });
    const ask: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: ask,
      tools: OPENAI_TOOLS,
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), EXPECTED_ARGS);
    assert.equal(
      first.usage!.completion_tokens,
      countTokens("get_weather") + countTokens(call.function.arguments),
    );

    // Without a named choice, the first tool; streamed in OpenAI's tool_calls deltas.
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: ask,
      tools: OPENAI_TOOLS,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: OpenAI.Chat.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, "tool_calls");
    assert.deepEqual(deltas[0].function, { name: "get_time", arguments: "" });
    assert.equal(deltas[0].type, "function");
    assert.ok(deltas.slice(1).every((d) => d.index === 0 && d.id === undefined && !d.function?.name));
    assert.equal(deltas.map((d) => d.function?.arguments ?? "").join(""), "{}");

    // The tool's result: the answer quotes it; tool_choice none answers in text.
    const answer = await client.chat.completions.create({
      model: "gpt-4o-mini",
      tools: OPENAI_TOOLS,
      messages: [...ask, choice.message, { role: "tool", tool_call_id: call.id, content: RESULT }],
    });
    assert.equal(answer.choices[0].finish_reason, "stop");
    assert.ok(answer.choices[0].message.content!.includes(RESULT));
    const none = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: ask,
      tools: OPENAI_TOOLS,
      tool_choice: "none",
    });
    assert.equal(none.choices[0].message.tool_calls, undefined);
    assert.match(none.choices[0].message.content!, /Weather in Paris/);

    // OpenAI's own checks: a tool message must answer a call; tool_choice needs tools.
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [...ask, { role: "tool", tool_call_id: "call_nope", content: "x" }],
      }),
      OpenAI.BadRequestError,
    );
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-4o-mini", messages: ask, tool_choice: "required" }),
      OpenAI.BadRequestError,
    );
  });
});

Deno.test("openai simulator: response_format json_object and json_schema; image parts are read", async () => {
  await withSim(startOpenAISimulator(FAST), async (sim) => {
    const client = new OpenAI({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 });
    const object = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Give me JSON" }],
      response_format: { type: "json_object" },
    });
    assert.equal(JSON.parse(object.choices[0].message.content!).simulated, true);
    const schema = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Weather as JSON" }],
      response_format: { type: "json_schema", json_schema: { name: "weather", schema: WEATHER_SCHEMA } },
    });
    assert.deepEqual(JSON.parse(schema.choices[0].message.content!), EXPECTED_ARGS);

    const text = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "What is this?" }],
    });
    const image = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{
        role: "user",
        content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: PIXEL } }],
      }],
    });
    assert.match(image.choices[0].message.content!, /What is this\?/);
    assert.equal(image.usage!.prompt_tokens - text.usage!.prompt_tokens, 85, "one image, 85 tokens");
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x/y.png" } }] }],
      }),
      OpenAI.BadRequestError,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Anthropic

const ANTHROPIC_TOOLS: Anthropic.Tool[] = [
  { name: "get_weather", input_schema: WEATHER_SCHEMA as Anthropic.Tool.InputSchema },
  { name: "get_time", input_schema: { type: "object", properties: {} } },
];

Deno.test("anthropic simulator: tool_use round trip, streamed (input_json_delta) and not, through its SDK", async () => {
  await withSim(startAnthropicSimulator(FAST), async (sim) => {
    const client = new Anthropic({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 });
    const ask: Anthropic.MessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await client.messages.create({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 200,
      messages: ask,
      tools: ANTHROPIC_TOOLS,
    });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    assert.match(use.id, /^toolu_01/);
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, EXPECTED_ARGS);
    assert.equal(
      first.usage.output_tokens,
      countTokens("get_weather") + countTokens(JSON.stringify(EXPECTED_ARGS)),
    );

    // Streamed: the SDK assembles the input from input_json_delta events; tool_choice names one.
    const stream = client.messages.stream({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 200,
      messages: ask,
      tools: ANTHROPIC_TOOLS,
      tool_choice: { type: "tool", name: "get_time" },
    });
    const jsonDeltas: string[] = [];
    stream.on("inputJson", (partial) => jsonDeltas.push(partial));
    const streamed = await stream.finalMessage();
    assert.equal(streamed.stop_reason, "tool_use");
    const timeUse = streamed.content[0] as Anthropic.ToolUseBlock;
    assert.equal(timeUse.name, "get_time");
    assert.deepEqual(timeUse.input, {});
    assert.equal(jsonDeltas.join(""), "{}", "the input arrives as input_json_delta fragments");

    const answer = await client.messages.create({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 200,
      tools: ANTHROPIC_TOOLS,
      messages: [...ask, { role: "assistant", content: first.content }, {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: use.id, content: RESULT }],
      }],
    });
    assert.equal(answer.stop_reason, "end_turn");
    assert.ok((answer.content[0] as Anthropic.TextBlock).text.includes(RESULT));

    const none = await client.messages.create({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 200,
      messages: ask,
      tools: ANTHROPIC_TOOLS,
      tool_choice: { type: "none" },
    });
    assert.equal(none.stop_reason, "end_turn");

    // Anthropic's checks: an unanswered tool_use is refused; images need a valid source.
    await assert.rejects(
      client.messages.create({
        model: "claude-haiku-4-5-20251001",
        max_tokens: 10,
        tools: ANTHROPIC_TOOLS,
        messages: [...ask, { role: "assistant", content: first.content }, { role: "user", content: "and?" }],
      }),
      Anthropic.BadRequestError,
    );
    const image = await client.messages.create({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 100,
      messages: [{
        role: "user",
        content: [
          { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL.split(",")[1] } },
          { type: "text", text: "What is this?" },
        ],
      }],
    });
    assert.match((image.content[0] as Anthropic.TextBlock).text, /What is this\?/);
  });
});

// ---------------------------------------------------------------------------------------------
// Gemini

Deno.test("gemini simulator: functionCall round trip, streamed and not, JSON mode and images, via @google/genai", async () => {
  await withSim(startGeminiSimulator(FAST), async (sim) => {
    const ai = new GoogleGenAI({ apiKey: "sim", httpOptions: { baseUrl: sim.url } });
    const tools = [{
      functionDeclarations: [
        { name: "get_weather", parametersJsonSchema: WEATHER_SCHEMA },
        { name: "get_time" },
      ],
    }];
    const ask = [{ role: "user", parts: [{ text: "Weather in Paris?" }] }];
    const first = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: ask,
      config: { tools },
    });
    assert.deepEqual(first.functionCalls, [{ name: "get_weather", args: EXPECTED_ARGS }]);
    assert.equal(first.candidates![0].finishReason, "STOP");
    assert.equal(
      first.usageMetadata!.candidatesTokenCount,
      countTokens("get_weather") + countTokens(JSON.stringify(EXPECTED_ARGS)),
    );

    const streamed = await ai.models.generateContentStream({
      model: "gemini-2.5-flash",
      contents: ask,
      config: {
        tools,
        toolConfig: {
          functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ["get_time"] },
        },
      },
    });
    const calls = [];
    for await (const chunk of streamed) calls.push(...(chunk.functionCalls ?? []));
    assert.deepEqual(calls, [{ name: "get_time", args: {} }]);

    const answer = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      config: { tools },
      contents: [
        ...ask,
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: EXPECTED_ARGS } }] },
        {
          role: "user",
          parts: [{ functionResponse: { name: "get_weather", response: JSON.parse(RESULT) } }],
        },
      ],
    });
    assert.ok(answer.text!.includes(RESULT));
    await assert.rejects(
      ai.models.generateContent({
        model: "gemini-2.5-flash",
        contents: [...ask, { role: "user", parts: [{ functionResponse: { name: "x", response: {} } }] }],
      }),
      /function response turn comes immediately after a function call turn/,
    );

    const json = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "Weather as JSON",
      config: { responseMimeType: "application/json", responseJsonSchema: WEATHER_SCHEMA },
    });
    assert.deepEqual(JSON.parse(json.text!), EXPECTED_ARGS);
    const image = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: [{
        role: "user",
        parts: [{ inlineData: { mimeType: "image/png", data: PIXEL.split(",")[1] } }, {
          text: "What is this?",
        }],
      }],
    });
    assert.match(image.text!, /What is this\?/);
    assert.equal(image.usageMetadata!.promptTokenCount, countTokens("What is this?") + 258);
  });
});

// ---------------------------------------------------------------------------------------------
// Cohere

Deno.test("cohere simulator: tool calls (tool-call-start/delta/end) round trip and JSON, via cohere-ai", async () => {
  await withSim(startCohereSimulator(FAST), async (sim) => {
    const client = new CohereClientV2({ token: "sim", environment: sim.url, maxRetries: 0 });
    const tools = [
      { type: "function" as const, function: { name: "get_weather", parameters: WEATHER_SCHEMA } },
      { type: "function" as const, function: { name: "get_time", parameters: { type: "object" } } },
    ];
    const ask = [{ role: "user" as const, content: "Weather in Paris?" }];
    const first = await client.chat({ model: "command-a-03-2025", messages: ask, tools });
    assert.equal(first.finishReason, "TOOL_CALL");
    const call = first.message.toolCalls![0];
    assert.equal(call.function?.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function!.arguments!), EXPECTED_ARGS);
    assert.match(first.message.toolPlan ?? "", /get_weather/);

    const stream = await client.chatStream({ model: "command-a-03-2025", messages: ask, tools });
    const types: string[] = [];
    let args = "";
    for await (const event of stream) {
      types.push(event.type!);
      if (event.type === "tool-call-delta") {
        args += event.delta?.message?.toolCalls?.function?.arguments ?? "";
      }
      if (event.type === "message-end") assert.equal(event.delta?.finishReason, "TOOL_CALL");
    }
    assert.deepEqual(JSON.parse(args), EXPECTED_ARGS);
    assert.deepEqual(
      [...new Set(types)],
      [
        "message-start",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "message-end",
      ],
    );

    const answer = await client.chat({
      model: "command-a-03-2025",
      tools,
      messages: [
        ...ask,
        { role: "assistant", toolPlan: first.message.toolPlan, toolCalls: first.message.toolCalls },
        { role: "tool", toolCallId: call.id!, content: RESULT },
      ],
    });
    assert.equal(answer.finishReason, "COMPLETE");
    assert.ok(answer.message.content![0].type === "text" && answer.message.content![0].text.includes(RESULT));

    const json = await client.chat({
      model: "command-a-03-2025",
      messages: [{ role: "user", content: "Weather as JSON" }],
      responseFormat: { type: "json_object", jsonSchema: WEATHER_SCHEMA },
    });
    const text = json.message.content![0].type === "text" ? json.message.content![0].text : "";
    assert.deepEqual(JSON.parse(text), EXPECTED_ARGS);
    assert.equal(json.usage!.billedUnits!.outputTokens, tokenize(text).length);
  });
});
