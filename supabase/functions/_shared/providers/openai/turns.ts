// Conversations reshaped for OpenAI-compatible providers that take only alternating turns
// (Perplexity: 400 "After the (optional) system message(s), user and assistant roles should be
// alternating"), as the Anthropic and Gemini adapters reshape them for their APIs: the system
// messages first, joined into one; consecutive user turns, and consecutive assistant turns, merged
// into one (texts joined with a blank line); empty turns dropped; and a placeholder user turn
// first when the history starts with the assistant's (the turns after the system message start
// with the user's).

import type { ChatMessage, ContentPart } from "../types.ts";

/** Stands in for the user turn that must come first when a history starts with the assistant. */
export const LEADING_USER_PLACEHOLDER = "(start of conversation)";

const BETWEEN = "\n\n";

function isEmpty(m: ChatMessage): boolean {
  if (m.role === "assistant" && m.toolCalls?.length) return false;
  return typeof m.content === "string" ? !m.content.trim() : m.content.length === 0;
}

function asParts(content: string | ContentPart[]): ContentPart[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

/** Two user contents as one: a string when both are, else parts (adjacent texts joined). */
function mergeContent(a: string | ContentPart[], b: string | ContentPart[]): string | ContentPart[] {
  if (typeof a === "string" && typeof b === "string") return a + BETWEEN + b;
  const parts = [...asParts(a)];
  for (const part of asParts(b)) {
    const last = parts.at(-1);
    if (part.type === "text" && last?.type === "text") {
      parts[parts.length - 1] = { type: "text", text: last.text + BETWEEN + part.text };
    } else parts.push(part);
  }
  return parts;
}

/** The messages as alternating turns after one leading system message (see above). */
export function alternatingTurns(messages: ChatMessage[]): ChatMessage[] {
  const system = messages.filter((m) => m.role === "system" && m.content.trim()).map((m) => m.content);
  const turns: ChatMessage[] = [];
  for (const m of messages) {
    if (m.role === "system" || isEmpty(m)) continue;
    const last = turns.at(-1);
    if (m.role === "user" && last?.role === "user") {
      turns[turns.length - 1] = { role: "user", content: mergeContent(last.content, m.content) };
    } else if (m.role === "assistant" && last?.role === "assistant" && !last.toolCalls && !m.toolCalls) {
      turns[turns.length - 1] = { role: "assistant", content: last.content + BETWEEN + m.content };
    } else turns.push(m);
  }
  if (turns[0]?.role === "assistant") turns.unshift({ role: "user", content: LEADING_USER_PLACEHOLDER });
  return [...(system.length ? [{ role: "system" as const, content: system.join(BETWEEN) }] : []), ...turns];
}
