// Token counts before the provider tells us: the worst-case cost check needs the prompt's size,
// and a stream cut before the provider's usage report still has to be billed for what it
// produced. OpenAI's tokenizer is public (o200k_base, via gpt-tokenizer), so OpenAI models' text
// is counted exactly; for the others we use a documented estimate: one token per 4 characters
// (the usual rule of thumb for English and code), except CJK characters, which are about one
// token each. Messages add OpenAI's framing overhead (4 per message, 3 to prime the reply).
// Provider-reported usage always wins when present.
//
// Beyond text, a prompt costs (all counted, so admission's worst case stays an upper bound):
// - images: the model's `imageInputTokens` each (the catalog's per-image worst case);
// - tool calls in the history: their ids, names and arguments as text;
// - tool definitions: their JSON, plus TOOLS_OVERHEAD_TOKENS for the instructions providers add
//   when tools are offered (Anthropic documents up to 346 tokens of tool-use system prompt);
// - a response_format schema: its name, description and JSON (providers put them in the prompt).

import type { ChatMessage, ResponseFormat, ToolDefinition } from "./providers/types.ts";
import { imagesOf, textOf } from "./providers/types.ts";

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/g;

/** Tokens providers add when tools are offered (their tool-use instructions), at most. */
export const TOOLS_OVERHEAD_TOKENS = 500;

export function estimateTokens(text: string): number {
  if (!text) return 0;
  const cjk = text.match(CJK)?.length ?? 0;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

// The encoder's tables take a few hundred ms to load: start loading when the instance starts,
// in the background, so the listener is up at once and the first request rarely waits.
const o200k = import("gpt-tokenizer/encoding/o200k_base");
o200k.catch(() => {}); // a failed load surfaces at first use

// The encoder merges a pre-tokenizer piece (a run of letters, of punctuation or of spaces) in time
// quadratic in its length: 50,000 letters without a space took 5 s, long enough for one request to
// stall an instance. Prose and code have no such runs, so any run of 64 or more characters
// without (or of only) whitespace is counted at its UTF-8 length instead: an upper bound, as every
// token of a byte-level BPE covers at least one byte.
const LONG_RUN = /[^\s]{64,}|\s{64,}/g;

// Special tokens (`<|endoftext|>`, `<|im_start|>`…) in a user's text are just text to count:
// the encoder's default is to throw on them.
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/** The number of bytes of a string in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length) {
      bytes += 4; // a surrogate pair: one code point beyond the BMP
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Exact o200k counting for text, bounded in time (see LONG_RUN). */
function openAiCounter(encoding: { countTokens(text: string, options: typeof AS_TEXT): number }) {
  return (text: string): number => {
    let longRuns = 0;
    const rest = text.replace(LONG_RUN, (run) => {
      longRuns += utf8Length(run);
      return " ";
    });
    return longRuns + encoding.countTokens(rest, AS_TEXT);
  };
}

/** What a prompt holds besides its messages' text. */
export interface PromptExtras {
  tools?: ToolDefinition[];
  responseFormat?: ResponseFormat;
}

/** A message as the counters read it (the router passes plain text messages). */
type Countable = ChatMessage | { role: string; content: string };

/** The texts of a message a provider reads as prompt tokens. */
function messageTexts(m: Countable): string[] {
  const texts = [typeof m.content === "string" ? m.content : textOf(m.content)];
  if ("toolCalls" in m) { for (const c of m.toolCalls ?? []) texts.push(c.id, c.name, c.arguments); }
  if ("toolCallId" in m) texts.push(m.toolCallId);
  return texts;
}

/** The number of images in a prompt (each is priced at the model's per-image worst case). */
export function countImages(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + (m.role === "user" ? imagesOf(m.content).length : 0), 0);
}

function extrasText(extras: PromptExtras): string[] {
  const texts: string[] = [];
  if (extras.tools?.length) texts.push(JSON.stringify(extras.tools));
  const f = extras.responseFormat;
  // the provider reads the schema's name and description as well as the schema
  if (f?.type === "json_schema") {
    texts.push(f.name, f.description ?? "", f.schema ? JSON.stringify(f.schema) : "");
  }
  return texts;
}

function count(messages: readonly Countable[], extras: PromptExtras, tokens: (t: string) => number): number {
  let total = 3;
  for (const m of messages) total += 4 + messageTexts(m).reduce((n, t) => n + tokens(t), 0);
  for (const t of extrasText(extras)) total += tokens(t);
  if (extras.tools?.length) total += TOOLS_OVERHEAD_TOKENS;
  return total;
}

/**
 * Counts (OpenAI) or estimates (others) the prompt tokens of a conversation's text, tool calls,
 * tools and schema for a provider. Images are not included: see countImages.
 */
export async function countPromptTokens(
  provider: string,
  messages: readonly Countable[],
  extras: PromptExtras = {},
): Promise<number> {
  return count(messages, extras, provider === "openai" ? openAiCounter(await o200k) : estimateTokens);
}

/** The estimate for any provider (what a stream that broke off produced, for instance). */
export function estimatePromptTokens(messages: readonly Countable[], extras: PromptExtras = {}): number {
  return count(messages, extras, estimateTokens);
}
