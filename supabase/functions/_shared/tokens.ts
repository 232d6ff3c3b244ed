// Token counts before the provider tells us: the worst-case cost check needs the prompt's size,
// and a stream cut before the provider's usage report still has to be billed for what it
// produced. OpenAI's tokenizer is public (o200k_base, via gpt-tokenizer), so OpenAI models are
// counted exactly; for the others we use a documented estimate: one token per 4 characters
// (the usual rule of thumb for English and code), except CJK characters, which are about one
// token each. Messages add OpenAI's framing overhead (4 per message, 3 to prime the reply).
// Provider-reported usage always wins when present.

import type { ChatMessage } from "./providers/types.ts";

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/g;

export function estimateTokens(text: string): number {
  if (!text) return 0;
  const cjk = text.match(CJK)?.length ?? 0;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

// The encoder's tables take a few hundred ms to load: start loading when the instance starts,
// in the background, so the listener is up at once and the first request rarely waits.
const o200k = import("gpt-tokenizer/encoding/o200k_base");
o200k.catch(() => {}); // a failed load surfaces at first use

/** Counts (OpenAI) or estimates (others) the prompt tokens of a conversation for a provider. */
export async function countPromptTokens(provider: string, messages: ChatMessage[]): Promise<number> {
  const count = provider === "openai" ? (await o200k).countTokens : estimateTokens;
  return messages.reduce((sum, m) => sum + 4 + count(m.content), 3);
}

/** The estimate for any provider (what a stream that broke off produced, for instance). */
export function estimatePromptTokens(messages: ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + 4 + estimateTokens(m.content), 3);
}
