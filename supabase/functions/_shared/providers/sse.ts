// Reads a provider's text/event-stream body as parsed events, chunk by chunk (eventsource-parser).

import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";
import type { Completion, ProviderEvent, ToolCall } from "./types.ts";

export function sseMessages(body: ReadableStream<Uint8Array>): ReadableStream<EventSourceMessage> {
  return body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
}

/** Folds normalized events into one Completion (non-streaming answers, tests). */
export async function collect(events: AsyncIterable<ProviderEvent>): Promise<Completion> {
  const out: Completion = {
    text: "",
    reasoning: null,
    toolCalls: [],
    citations: [],
    finishReason: null,
    usage: null,
  };
  const calls = new Map<number, ToolCall>();
  for await (const e of events) {
    switch (e.type) {
      case "text":
        out.text += e.text;
        break;
      case "reasoning":
        out.reasoning = (out.reasoning ?? "") + e.text;
        break;
      case "finish":
        out.finishReason = e.reason;
        break;
      case "usage":
        out.usage = e.usage;
        break;
      case "citations":
        for (const url of e.urls) if (!out.citations.includes(url)) out.citations.push(url);
        break;
      case "tool_call": {
        const call = calls.get(e.call.index) ?? { id: "", name: "", arguments: "" };
        if (e.call.id) call.id = e.call.id;
        if (e.call.name) call.name += e.call.name;
        if (e.call.arguments) call.arguments += e.call.arguments;
        calls.set(e.call.index, call);
      }
    }
  }
  out.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  return out;
}
