// OpenAI Chat Completions, the wire format of OpenAI and of every OpenAI-compatible provider.
// Usage is always requested in streams (stream_options.include_usage): billing never guesses
// when the provider can tell.

import type { Completion, ProviderAdapter, ProviderEvent, ProviderRequest, Usage } from "../types.ts";
import { ProviderError } from "../types.ts";
import { sseMessages } from "../sse.ts";

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

interface OpenAIDelta {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
}

interface OpenAIMessage {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
}

interface OpenAIChunk {
  choices?: { delta?: OpenAIDelta; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
  error?: { message?: string; type?: string; code?: string };
}

export interface OpenAIFlavor {
  /** Name of the output-length parameter the provider expects. */
  maxTokensParam: "max_completion_tokens" | "max_tokens";
}

export function normalizeUsage(u: OpenAIUsage): Usage {
  return {
    inputTokens: u.prompt_tokens ?? 0,
    // completion_tokens already includes reasoning tokens for OpenAI-style providers
    outputTokens: u.completion_tokens ?? 0,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

export function openaiAdapter(
  flavor: OpenAIFlavor = { maxTokensParam: "max_completion_tokens" },
): ProviderAdapter {
  return {
    buildRequest(req: ProviderRequest, endpoint, stream) {
      const body: Record<string, unknown> = {
        model: req.model.apiModel,
        messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
        [flavor.maxTokensParam]: req.maxOutputTokens,
        stream,
      };
      if (stream) body.stream_options = { include_usage: true };
      if (req.temperature !== undefined) body.temperature = req.temperature;
      if (req.topP !== undefined) body.top_p = req.topP;
      if (req.stop?.length) body.stop = req.stop;
      return {
        url: `${endpoint.baseUrl.replace(/\/+$/, "")}/chat/completions`,
        init: {
          method: "POST",
          headers: {
            "authorization": `Bearer ${endpoint.apiKey}`,
            "content-type": "application/json",
            "accept": stream ? "text/event-stream" : "application/json",
          },
          body: JSON.stringify(body),
        },
      };
    },

    async *parseStream(body): AsyncIterable<ProviderEvent> {
      for await (const message of sseMessages(body)) {
        if (message.data === "[DONE]") return;
        let chunk: OpenAIChunk;
        try {
          chunk = JSON.parse(message.data);
        } catch {
          throw new ProviderError("error", "provider sent malformed JSON in its stream");
        }
        yield* chunkEvents(chunk);
      }
    },

    parseResponse(json): Completion {
      const body = json as {
        choices?: { message?: OpenAIMessage; finish_reason?: string | null }[];
        usage?: OpenAIUsage;
      };
      const choice = body.choices?.[0];
      const message: OpenAIMessage = choice?.message ?? {};
      return {
        citations: [],
        text: message.content ?? "",
        reasoning: message.reasoning_content ?? message.reasoning ?? null,
        toolCalls: (message.tool_calls ?? []).map((c) => ({
          id: c.id,
          name: c.function.name,
          arguments: c.function.arguments,
        })),
        finishReason: choice?.finish_reason ?? null,
        usage: body.usage ? normalizeUsage(body.usage) : null,
      };
    },
  };
}

function* chunkEvents(chunk: OpenAIChunk): Iterable<ProviderEvent> {
  if (chunk.error) throw new ProviderError("error", chunk.error.message ?? "provider stream error");
  const choice = chunk.choices?.[0];
  const delta = choice?.delta;
  if (delta) {
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (reasoning) yield { type: "reasoning", text: reasoning };
    if (delta.content) yield { type: "text", text: delta.content };
    for (const call of delta.tool_calls ?? []) {
      yield {
        type: "tool_call",
        call: {
          index: call.index,
          id: call.id,
          name: call.function?.name,
          arguments: call.function?.arguments,
        },
      };
    }
  }
  if (choice?.finish_reason) yield { type: "finish", reason: choice.finish_reason };
  if (chunk.usage) yield { type: "usage", usage: normalizeUsage(chunk.usage) };
}
