// Anthropic Messages (POST /v1/messages, https://docs.anthropic.com/en/api/messages), streamed as
// named SSE events: message_start, content_block_start/delta/stop, message_delta, message_stop,
// ping and error.
//
// Usage, the part that bills: Anthropic's input_tokens EXCLUDES prompt-cache reads and writes,
// which it reports beside it (cache_read_input_tokens, cache_creation_input_tokens). Our Usage
// counts every input token in inputTokens, with the cache parts as subsets, so the three are
// added up here. output_tokens already includes extended-thinking tokens.

import type {
  ChatMessage,
  Completion,
  ContentPart,
  ProviderAdapter,
  ProviderEvent,
  ProviderRequest,
  ToolCall,
  Usage,
} from "../types.ts";
import { argumentsObject, parseDataUrl, ProviderError, samplingOf } from "../types.ts";
import { sseMessages } from "../sse.ts";

/** The API version this adapter speaks (request and event shapes are pinned by it). */
export const ANTHROPIC_VERSION = "2023-06-01";

/** Anthropic's temperature range is 0..1 (ours, OpenAI's, is 0..2). */
const MAX_TEMPERATURE = 1;

/** Stands in for the user turn Anthropic requires first when a history starts with the assistant. */
export const LEADING_USER_PLACEHOLDER = "(start of conversation)";

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

interface Citation {
  url?: string;
}

/** A content block or its delta, loosely: only the fields read here (others are ignored). */
interface ContentBlock {
  type: string; // text, thinking, redacted_thinking, tool_use, server_tool_use, …
  text?: string;
  thinking?: string;
  id?: string;
  name?: string;
  input?: unknown;
  citations?: Citation[] | null;
}

interface Delta {
  type: string; // text_delta, thinking_delta, input_json_delta, citations_delta, signature_delta
  text?: string;
  thinking?: string;
  partial_json?: string;
  citation?: Citation;
}

type StreamEvent =
  | { type: "message_start"; message: { usage?: AnthropicUsage } }
  | { type: "content_block_start"; index: number; content_block: ContentBlock }
  | { type: "content_block_delta"; index: number; delta: Delta }
  | { type: "content_block_stop"; index: number }
  | { type: "message_delta"; delta: { stop_reason?: string | null }; usage?: AnthropicUsage }
  | { type: "message_stop" }
  | { type: "ping" }
  | { type: "error"; error?: { type?: string; message?: string } };

interface AnthropicMessage {
  type?: string;
  content?: ContentBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
  error?: { type?: string };
}

export function normalizeUsage(u: AnthropicUsage): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  const usage: Usage = {
    inputTokens: (u.input_tokens ?? 0) + cacheRead + cacheWrite,
    outputTokens: u.output_tokens ?? 0,
    cachedInputTokens: cacheRead,
    cacheWriteInputTokens: cacheWrite,
  };
  const thinking = u.output_tokens_details?.thinking_tokens;
  if (thinking != null) usage.reasoningTokens = thinking;
  return usage;
}

type AnthropicBlock = Record<string, unknown> & { type: string };
type AnthropicTurn = { role: "user" | "assistant"; content: string | AnthropicBlock[] };

/** A user part as an Anthropic block: images by base64 (data: URLs) or by URL. */
function partBlock(p: ContentPart): AnthropicBlock {
  if (p.type === "text") return { type: "text", text: p.text };
  const data = parseDataUrl(p.url);
  return {
    type: "image",
    source: data
      ? { type: "base64", media_type: data.mediaType, data: data.data }
      : { type: "url", url: p.url },
  };
}

/** A message's content blocks (empty text dropped: Anthropic rejects it). */
function blocksOf(m: Exclude<ChatMessage, { role: "system" }>): AnthropicBlock[] {
  switch (m.role) {
    case "user":
      return (typeof m.content === "string" ? [{ type: "text" as const, text: m.content }] : m.content)
        .filter((p) => p.type !== "text" || p.text.trim())
        .map(partBlock);
    case "assistant":
      return [
        ...(m.content.trim() ? [{ type: "text", text: m.content }] : []),
        ...(m.toolCalls ?? []).map((c) => ({
          type: "tool_use",
          id: c.id,
          name: c.name,
          input: argumentsObject(c.arguments),
        })),
      ];
    case "tool":
      // A function's result goes back in the next user turn, as a tool_result block.
      return [{
        type: "tool_result",
        tool_use_id: m.toolCallId,
        ...(m.content ? { content: m.content } : {}),
      }];
  }
}

/**
 * Anthropic takes the system prompt apart from the turns, and turns that alternate starting with
 * the user's. System messages are joined into `system`; consecutive same-role messages are merged
 * (tool results join the user turn that carries them; adjacent texts are joined with a blank
 * line) and empty ones dropped (Anthropic rejects empty text). A turn of text only is sent as a
 * plain string.
 */
export function toAnthropicMessages(messages: ChatMessage[]): {
  system?: string;
  messages: AnthropicTurn[];
} {
  const system = messages.filter((m) => m.role === "system" && m.content.trim()).map((m) => m.content);
  const turns: { role: "user" | "assistant"; blocks: AnthropicBlock[] }[] = [];
  for (const m of messages) {
    if (m.role === "system") continue;
    const blocks = blocksOf(m);
    if (!blocks.length) continue;
    const role = m.role === "assistant" ? "assistant" : "user";
    const last = turns.at(-1);
    if (last?.role !== role) {
      turns.push({ role, blocks });
      continue;
    }
    for (const b of blocks) {
      const prev = last.blocks.at(-1);
      if (prev?.type === "text" && b.type === "text") prev.text = `${prev.text}\n\n${b.text}`;
      else last.blocks.push(b);
    }
  }
  if (turns[0]?.role !== "user") {
    turns.unshift({ role: "user", blocks: [{ type: "text", text: LEADING_USER_PLACEHOLDER }] });
  }
  return {
    ...(system.length ? { system: system.join("\n\n") } : {}),
    messages: turns.map(({ role, blocks }) => ({
      role,
      content: blocks.every((b) => b.type === "text") ? blocks.map((b) => b.text).join("\n\n") : blocks,
    })),
  };
}

/**
 * tools and tool_choice in Anthropic's terms (its tool_choice "any" is OpenAI's "required").
 * parallel_tool_calls false is tool_choice's disable_parallel_tool_use (with "auto" when no choice
 * was asked for; "none" calls nothing and takes no such flag).
 */
function anthropicToolFields(req: ProviderRequest): Record<string, unknown> {
  if (!req.tools?.length) return {};
  const choice = req.toolChoice;
  const oneCall = req.parallelToolCalls === false && choice !== "none";
  const toolChoice = choice === undefined
    ? (oneCall ? { type: "auto" } : undefined)
    : typeof choice === "object"
    ? { type: "tool", name: choice.name }
    : { type: choice === "required" ? "any" : choice };
  return {
    tools: req.tools.map((t) => ({
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      input_schema: t.parameters ?? { type: "object", properties: {} },
    })),
    ...(toolChoice
      ? { tool_choice: oneCall ? { ...toolChoice, disable_parallel_tool_use: true } : toolChoice }
      : {}),
  };
}

/** An `error` event (or error body) as a ProviderError; the provider's wording stays out of it. */
function streamError(type: string | undefined): ProviderError {
  const kind = type === "overloaded_error" ? "unavailable" : "error";
  const safe = (type ?? "unknown").replace(/[^a-z_]/g, "").slice(0, 40);
  return new ProviderError(kind, `anthropic stream error (${safe})`);
}

/** The root the provider's official SDK uses; <P>_BASE_URL overrides it. */
export const defaultBaseUrl = "https://api.anthropic.com";

export const anthropicAdapter: ProviderAdapter = {
  // The Messages API has no JSON mode: response_format is refused before Anthropic is called, as
  // are stop sequences of whitespace only ("\n"), which it answers 400 (see AdapterFeatures).
  features: {
    responseFormats: [],
    toolChoices: ["none", "required", "named"],
    parallelToolCalls: true,
    visibleStopsOnly: true,
  },

  buildRequest(req: ProviderRequest, endpoint, stream) {
    const body: Record<string, unknown> = {
      model: req.model.apiModel,
      ...toAnthropicMessages(req.messages),
      max_tokens: req.maxOutputTokens, // required by Anthropic
      stream,
      ...anthropicToolFields(req),
    };
    const { temperature, topP } = samplingOf(req);
    if (temperature !== undefined) body.temperature = Math.min(temperature, MAX_TEMPERATURE);
    // Recent Claude models reject temperature and top_p together; temperature wins.
    if (topP !== undefined && temperature === undefined) body.top_p = topP;
    if (req.stop?.length) body.stop_sequences = req.stop;
    return {
      url: `${endpoint.baseUrl.replace(/\/+$/, "")}/v1/messages`,
      init: {
        method: "POST",
        headers: {
          "x-api-key": endpoint.apiKey,
          "anthropic-version": ANTHROPIC_VERSION,
          "content-type": "application/json",
          "accept": stream ? "text/event-stream" : "application/json",
        },
        body: JSON.stringify(body),
      },
    };
  },

  async *parseStream(body): AsyncIterable<ProviderEvent> {
    // Usage arrives in two parts: message_start has the input counts (its output_tokens is a
    // placeholder), message_delta the final cumulative output (and, on newer API versions, the
    // input counts again). Fields present later overwrite earlier ones; usage is reported once
    // message_delta has the final numbers, never the placeholder.
    let usage: AnthropicUsage = {};
    // Content block index -> tool call ordinal (text and thinking blocks share the index space).
    const tools = new Map<number, number>();
    // Tool blocks (by content block index) whose input has not streamed a byte yet, with the
    // input content_block_start gave: a call without arguments streams none, or only "" (a
    // client parsing the joined arguments needs "{}", as the non-streamed answer and OpenAI give).
    const silentTools = new Map<number, unknown>();
    let stopped = false;

    for await (const message of sseMessages(body)) {
      let event: StreamEvent;
      try {
        event = JSON.parse(message.data);
      } catch {
        throw new ProviderError("error", "anthropic sent malformed JSON in its stream");
      }
      // The JSON `type` always equals the SSE event name; reading it also copes with proxies
      // that drop `event:` lines.
      switch (event.type) {
        case "message_start":
          usage = { ...event.message.usage };
          break;
        case "content_block_start": {
          const block = event.content_block;
          if (block.type === "tool_use") {
            const index = tools.size;
            tools.set(event.index, index);
            silentTools.set(event.index, block.input);
            yield { type: "tool_call", call: { index, id: block.id, name: block.name } };
          } else if (block.type === "text" && block.text) yield { type: "text", text: block.text };
          else if (block.type === "thinking" && block.thinking) {
            yield { type: "reasoning", text: block.thinking };
          }
          break;
        }
        case "content_block_delta": {
          const d = event.delta;
          if (d.type === "text_delta" && d.text) yield { type: "text", text: d.text };
          else if (d.type === "thinking_delta" && d.thinking) yield { type: "reasoning", text: d.thinking };
          else if (d.type === "input_json_delta" && d.partial_json && tools.has(event.index)) {
            silentTools.delete(event.index);
            yield { type: "tool_call", call: { index: tools.get(event.index)!, arguments: d.partial_json } };
          } else if (d.type === "citations_delta" && d.citation?.url) {
            yield { type: "citations", urls: [d.citation.url] };
          } // signature_delta: an opaque proof for replaying thinking; nothing to show or bill
          break;
        }
        case "content_block_stop":
          if (silentTools.has(event.index)) {
            const input = silentTools.get(event.index);
            silentTools.delete(event.index);
            yield {
              type: "tool_call",
              call: { index: tools.get(event.index)!, arguments: JSON.stringify(input ?? {}) },
            };
          }
          break;
        case "message_delta":
          for (const [k, v] of Object.entries(event.usage ?? {})) {
            if (v != null) (usage as Record<string, unknown>)[k] = v;
          }
          if (event.delta.stop_reason) yield { type: "finish", reason: event.delta.stop_reason };
          yield { type: "usage", usage: normalizeUsage(usage) };
          break;
        case "message_stop":
          stopped = true;
          break;
        case "error":
          throw streamError(event.error?.type);
      }
    }
    // A body that ends cleanly without message_stop was cut (e.g. by a proxy): not a success.
    if (!stopped) throw new ProviderError("error", "anthropic stream ended before message_stop");
  },

  parseResponse(json): Completion {
    const body = json as AnthropicMessage;
    if (body.type === "error") throw streamError(body.error?.type);
    const blocks = body.content ?? [];
    const of = (type: string) => blocks.filter((b) => b.type === type);
    const thinking = of("thinking").map((b) => b.thinking ?? "");
    const toolCalls: ToolCall[] = of("tool_use").map((b) => ({
      id: b.id ?? "",
      name: b.name ?? "",
      arguments: JSON.stringify(b.input ?? {}),
    }));
    const citations: string[] = [];
    for (const c of of("text").flatMap((b) => b.citations ?? [])) {
      if (c.url && !citations.includes(c.url)) citations.push(c.url);
    }
    return {
      text: of("text").map((b) => b.text ?? "").join(""),
      reasoning: thinking.length ? thinking.join("") : null,
      toolCalls,
      citations,
      finishReason: body.stop_reason ?? null,
      usage: body.usage ? normalizeUsage(body.usage) : null,
    };
  },
};
