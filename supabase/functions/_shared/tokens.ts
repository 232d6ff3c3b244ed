// Token counts before the provider tells us: the worst-case cost check needs the prompt's size,
// and a stream cut before the provider's usage report still has to be billed for what it
// produced. Estimate: one token per 4 characters (OpenAI's rule of thumb for English), rounded
// up, plus OpenAI's per-message framing overhead (4 per message, 3 to prime the reply). It is
// deliberately simple and documented; provider-reported usage always wins when present.

import type { ChatMessage } from "./providers/types.ts";

export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

export function estimatePromptTokens(messages: ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + 4 + estimateTokens(m.content), 3);
}
