// Each adapter's mapping of images, tool calls, tool results, tools, tool_choice and JSON modes to
// its provider's documented request shapes:
//   OpenAI Chat Completions  https://platform.openai.com/docs/api-reference/chat/create
//   Anthropic Messages       https://docs.claude.com/en/api/messages (tool_use / tool_result, image)
//   Gemini generateContent   https://ai.google.dev/api/generate-content (functionCall / functionResponse,
//                            toolConfig.functionCallingConfig, inlineData / fileData, responseJsonSchema)
//   Cohere v2 chat           https://docs.cohere.com/reference/chat (tool_calls, tool_plan, tool messages)

import assert from "node:assert/strict";
import { type ChatModel, findModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { openaiAdapter } from "../../supabase/functions/_shared/providers/openai/adapter.ts";
import { anthropicAdapter } from "../../supabase/functions/_shared/providers/anthropic/adapter.ts";
import { geminiAdapter } from "../../supabase/functions/_shared/providers/gemini/adapter.ts";
import { cohereAdapter } from "../../supabase/functions/_shared/providers/cohere/adapter.ts";
import { providerInfo } from "../../supabase/functions/_shared/providers/registry.ts";
import { CompletionRequest, toChatBody } from "../../supabase/functions/_shared/openai/schema.ts";
import type {
  ChatMessage,
  ProviderAdapter,
  ProviderRequest,
  ToolDefinition,
} from "../../supabase/functions/_shared/providers/types.ts";

const PNG_DATA = "iVBORw0KGgo=";
const DATA_URL = `data:image/png;base64,${PNG_DATA}`;
const HTTP_URL = "https://example.com/cat.webp?size=large";
const SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const TOOLS: ToolDefinition[] = [
  { name: "get_weather", description: "Weather now", parameters: SCHEMA },
  { name: "get_time" },
];
/** A conversation with an image, a tool call, its result, and a follow-up. */
const HISTORY: ChatMessage[] = [
  { role: "system", content: "Be brief." },
  {
    role: "user",
    content: [{ type: "text", text: "Weather where this is?" }, {
      type: "image",
      url: DATA_URL,
      detail: "low",
    }, {
      type: "image",
      url: HTTP_URL,
    }],
  },
  {
    role: "assistant",
    content: "Let me check.",
    toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
  },
  { role: "tool", toolCallId: "call_1", content: '{"temp":21}' },
  { role: "user", content: "Thanks!" },
];

/** The call and what follows it, as the OpenAI wire format (and Cohere's) writes them. */
const WIRE_CALL = {
  id: "call_1",
  type: "function",
  function: { name: "get_weather", arguments: '{"city":"Paris"}' },
};
const WIRE_TAIL = [
  { role: "tool", tool_call_id: "call_1", content: '{"temp":21}' },
  { role: "user", content: "Thanks!" },
];

function body(adapter: ProviderAdapter, model: string, extra: Partial<ProviderRequest> = {}) {
  const req: ProviderRequest = {
    model: findModel(model) as ChatModel,
    messages: HISTORY,
    maxOutputTokens: 100,
    ...extra,
  };
  return JSON.parse(
    adapter.buildRequest(req, { baseUrl: "http://127.0.0.1:1", apiKey: "k" }, false).init.body as string,
  );
}

Deno.test("OpenAI: image parts, assistant tool_calls, tool messages, tools, tool_choice, response_format", () => {
  const adapter = openaiAdapter();
  const b = body(adapter, "gpt-4o", {
    tools: TOOLS,
    toolChoice: "required",
    responseFormat: { type: "json_object" },
  });
  assert.deepEqual(b.messages, [
    { role: "system", content: "Be brief." },
    {
      role: "user",
      content: [
        { type: "text", text: "Weather where this is?" },
        { type: "image_url", image_url: { url: DATA_URL, detail: "low" } },
        { type: "image_url", image_url: { url: HTTP_URL } },
      ],
    },
    {
      role: "assistant",
      content: "Let me check.",
      tool_calls: [WIRE_CALL],
    },
    ...WIRE_TAIL,
  ]);
  assert.deepEqual(b.tools, [
    { type: "function", function: { name: "get_weather", description: "Weather now", parameters: SCHEMA } },
    { type: "function", function: { name: "get_time" } },
  ]);
  assert.equal(b.tool_choice, "required");
  assert.deepEqual(b.response_format, { type: "json_object" });

  const named = body(adapter, "gpt-4o", {
    tools: TOOLS,
    toolChoice: { name: "get_time" },
    responseFormat: { type: "json_schema", name: "w", schema: SCHEMA, strict: true },
  });
  assert.deepEqual(named.tool_choice, { type: "function", function: { name: "get_time" } });
  assert.deepEqual(named.response_format, {
    type: "json_schema",
    json_schema: { name: "w", schema: SCHEMA, strict: true },
  });
  // An assistant turn that only calls tools has content null; no tools, no tool_choice.
  const only = body(adapter, "gpt-4o", {
    messages: [{ role: "user", content: "x" }, {
      role: "assistant",
      content: "",
      toolCalls: [{ id: "c", name: "get_time", arguments: "{}" }],
    }, { role: "tool", toolCallId: "c", content: "noon" }],
    toolChoice: "none",
  });
  assert.equal(only.messages[1].content, null);
  assert.equal(only.tool_choice, undefined);
  assert.equal(only.tools, undefined);
  assert.equal(only.response_format, undefined);
});

Deno.test("Anthropic: tool_use and tool_result blocks, images by base64 and url, tools and tool_choice", () => {
  const b = body(anthropicAdapter, "claude-sonnet-4-5", { tools: TOOLS, toolChoice: "required" });
  assert.equal(b.system, "Be brief.");
  assert.deepEqual(b.messages, [
    {
      role: "user",
      content: [
        { type: "text", text: "Weather where this is?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: PNG_DATA } },
        { type: "image", source: { type: "url", url: HTTP_URL } },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
      ],
    },
    {
      // The result and the next user text share one user turn, the result first.
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_1", content: '{"temp":21}' },
        { type: "text", text: "Thanks!" },
      ],
    },
  ]);
  assert.deepEqual(b.tools, [
    { name: "get_weather", description: "Weather now", input_schema: SCHEMA },
    { name: "get_time", input_schema: { type: "object", properties: {} } },
  ]);
  assert.deepEqual(b.tool_choice, { type: "any" });
  const choice = (c: ProviderRequest["toolChoice"]) =>
    body(anthropicAdapter, "claude-sonnet-4-5", { tools: TOOLS, toolChoice: c }).tool_choice;
  assert.deepEqual(choice("auto"), { type: "auto" });
  assert.deepEqual(choice("none"), { type: "none" });
  assert.deepEqual(choice({ name: "get_time" }), { type: "tool", name: "get_time" });
  assert.equal(choice(undefined), undefined);
  // Parallel results join one user turn; malformed arguments become {} rather than failing.
  const parallel = body(anthropicAdapter, "claude-sonnet-4-5", {
    messages: [
      { role: "user", content: "x" },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "a", name: "get_time", arguments: "{}" }, {
          id: "b",
          name: "get_time",
          arguments: "not json",
        }],
      },
      { role: "tool", toolCallId: "a", content: "1" },
      { role: "tool", toolCallId: "b", content: "2" },
    ],
  });
  assert.deepEqual(parallel.messages.slice(1), [
    {
      role: "assistant",
      content: [
        { type: "tool_use", id: "a", name: "get_time", input: {} },
        { type: "tool_use", id: "b", name: "get_time", input: {} },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "a", content: "1" },
        { type: "tool_result", tool_use_id: "b", content: "2" },
      ],
    },
  ]);
  assert.deepEqual(anthropicAdapter.features.responseFormats, [], "Anthropic has no JSON mode");
});

Deno.test("Anthropic: parallel_tool_calls false is tool_choice's disable_parallel_tool_use", () => {
  const choice = (c: ProviderRequest["toolChoice"], parallelToolCalls?: boolean) =>
    body(anthropicAdapter, "claude-sonnet-4-5", { tools: TOOLS, toolChoice: c, parallelToolCalls })
      .tool_choice;
  assert.deepEqual(choice(undefined, false), { type: "auto", disable_parallel_tool_use: true });
  assert.deepEqual(choice("required", false), { type: "any", disable_parallel_tool_use: true });
  assert.deepEqual(choice({ name: "get_time" }, false), {
    type: "tool",
    name: "get_time",
    disable_parallel_tool_use: true,
  });
  assert.deepEqual(choice("none", false), { type: "none" }, "none calls nothing and takes no flag");
  assert.deepEqual(choice("auto", true), { type: "auto" });
  assert.equal(choice(undefined, true), undefined);
  assert.equal(
    body(anthropicAdapter, "claude-sonnet-4-5", { parallelToolCalls: false }).tool_choice,
    undefined,
    "no tools, no tool_choice",
  );
});

Deno.test("Gemini: functionCall/functionResponse parts, inlineData/fileData, functionDeclarations, toolConfig, JSON", () => {
  const b = body(geminiAdapter, "gemini-2.5-flash", {
    tools: TOOLS,
    toolChoice: { name: "get_weather" },
    responseFormat: { type: "json_schema", name: "w", schema: SCHEMA },
  });
  assert.deepEqual(b.systemInstruction, { parts: [{ text: "Be brief." }] });
  assert.deepEqual(b.contents, [
    {
      role: "user",
      parts: [
        { text: "Weather where this is?" },
        { inlineData: { mimeType: "image/png", data: PNG_DATA } },
        { fileData: { fileUri: HTTP_URL, mimeType: "image/webp" } },
      ],
    },
    {
      role: "model",
      parts: [{ text: "Let me check." }, {
        functionCall: { id: "call_1", name: "get_weather", args: { city: "Paris" } },
      }],
    },
    {
      // The response names the function (found from the call's id) and is an object.
      role: "user",
      parts: [{ functionResponse: { id: "call_1", name: "get_weather", response: { temp: 21 } } }, {
        text: "Thanks!",
      }],
    },
  ]);
  assert.deepEqual(b.tools, [{
    functionDeclarations: [
      { name: "get_weather", description: "Weather now", parametersJsonSchema: SCHEMA },
      { name: "get_time" },
    ],
  }]);
  assert.deepEqual(b.toolConfig, {
    functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] },
  });
  assert.equal(b.generationConfig.responseMimeType, "application/json");
  assert.deepEqual(b.generationConfig.responseJsonSchema, SCHEMA);
  const mode = (c: ProviderRequest["toolChoice"]) =>
    body(geminiAdapter, "gemini-2.5-flash", { tools: TOOLS, toolChoice: c }).toolConfig
      ?.functionCallingConfig;
  assert.deepEqual(mode("required"), { mode: "ANY" });
  assert.deepEqual(mode("none"), { mode: "NONE" });
  assert.deepEqual(mode("auto"), { mode: "AUTO" });
  // A plain-text result is wrapped in an object; json_object sets only the MIME type.
  const plain = body(geminiAdapter, "gemini-2.5-flash", {
    messages: [{ role: "user", content: "x" }, {
      role: "assistant",
      content: "",
      toolCalls: [{ id: "c", name: "get_time", arguments: "{}" }],
    }, { role: "tool", toolCallId: "c", content: "noon" }],
    responseFormat: { type: "json_object" },
  });
  assert.deepEqual(plain.contents[2].parts, [{
    functionResponse: { id: "c", name: "get_time", response: { result: "noon" } },
  }]);
  assert.equal(plain.generationConfig.responseJsonSchema, undefined);
});

Deno.test("Cohere v2: tool_plan and tool_calls, tool messages, tools, tool_choice (named by offering one), JSON", () => {
  const b = body(cohereAdapter, "command-a", {
    tools: TOOLS,
    toolChoice: "required",
    responseFormat: { type: "json_schema", name: "w", schema: SCHEMA },
  });
  assert.deepEqual(b.messages.slice(2), [
    {
      role: "assistant",
      tool_plan: "Let me check.",
      tool_calls: [WIRE_CALL],
    },
    ...WIRE_TAIL,
  ]);
  assert.deepEqual(b.tools[1], {
    type: "function",
    function: { name: "get_time", parameters: { type: "object", properties: {} } },
  });
  assert.equal(b.tool_choice, "REQUIRED");
  assert.deepEqual(b.response_format, { type: "json_object", json_schema: SCHEMA });
  const named = body(cohereAdapter, "command-a", { tools: TOOLS, toolChoice: { name: "get_time" } });
  assert.deepEqual(named.tools.map((t: { function: { name: string } }) => t.function.name), ["get_time"]);
  assert.equal(named.tool_choice, "REQUIRED");
  assert.equal(body(cohereAdapter, "command-a", { tools: TOOLS, toolChoice: "none" }).tool_choice, "NONE");
  assert.equal(body(cohereAdapter, "command-a", { tools: TOOLS, toolChoice: "auto" }).tool_choice, undefined);
});

Deno.test("a tool's strict reaches the providers that honour it (OpenAI, Mistral) and no other", () => {
  // Parsed on the OpenAI surface, carried into the request.
  const strictSchema = { ...SCHEMA, additionalProperties: false };
  const request = toChatBody(CompletionRequest.parse({
    model: "auto",
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [
      { type: "function", function: { name: "get_weather", parameters: strictSchema, strict: true } },
      { type: "function", function: { name: "get_time", strict: false } },
      { type: "function", function: { name: "get_date", strict: null } },
    ],
  }));
  assert.deepEqual(request.tools, [
    { name: "get_weather", parameters: strictSchema, strict: true },
    { name: "get_time", strict: false },
    { name: "get_date" },
  ]);
  const models: Record<string, string> = {
    openai: "gpt-4o",
    mistral: "mistral-large-2",
    anthropic: "claude-haiku-4-5",
    gemini: "gemini-2.0-flash",
    cohere: "command-r7b",
    deepseek: "deepseek-chat",
    xai: "grok-3",
    groq: "llama-3.3-70b",
    dashscope: "qwen-plus",
  };
  for (const [provider, model] of Object.entries(models)) {
    assert.ok(findModel(model), model);
    const sent: string = JSON.stringify(
      body(providerInfo(provider).adapter, model, { tools: request.tools }),
    );
    const honours = provider === "openai" || provider === "mistral";
    assert.equal(sent.includes('"strict":true'), honours, provider);
    assert.equal(sent.includes('"strict":false'), honours, provider);
  }
  const openai = body(openaiAdapter(), "gpt-4o", { tools: request.tools });
  assert.deepEqual(openai.tools[0].function, { name: "get_weather", parameters: strictSchema, strict: true });
  assert.deepEqual(openai.tools[2].function, { name: "get_date" });
});
