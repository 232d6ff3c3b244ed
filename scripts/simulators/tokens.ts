// The simulators' tokenizer: a small, documented stand-in for a provider's BPE tokenizer, so a
// simulated reply's usage numbers are exact and reproducible (a test can recount them).
//
// Rule. Text is split, left to right, into pieces; each piece is one of:
//   1. an optional single space + one CJK character (Han, Hiragana, Katakana, Hangul);
//   2. an optional single space + a run of 1 to 10 other letters, combining marks or digits;
//   3. an optional single space + one other non-space character (punctuation, symbol, emoji);
//   4. a run of whitespace that is not the single space a following piece takes (e.g. "\n\n").
// Every character belongs to exactly one piece, so `pieces.join("") === text` (lossless), and
// one piece counts as one token. "Hello, world!\n" -> ["Hello", ",", " world", "!", "\n"].
//
// A simulator streams exactly these pieces as content tokens, so `completion_tokens` equals the
// number of pieces of the reply. Prompt tokens are estimated with the same rule (see
// `estimateMessageTokens` for the per-message overhead).

const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}`;
const PIECE = new RegExp(
  String.raw` ?[${CJK}]| ?[[\p{L}\p{M}\p{N}]--[${CJK}]]{1,10}| ?[^\s\p{L}\p{M}\p{N}]|\s+`,
  "gv",
);

/** Splits text into token pieces (see the rule above). `tokenize(t).join("") === t`. */
export function tokenize(text: string): string[] {
  return text.match(PIECE) ?? [];
}

/** Number of tokens in `text` under the simulators' tokenizer. */
export function countTokens(text: string): number {
  if (!text) return 0;
  PIECE.lastIndex = 0;
  let n = 0;
  while (PIECE.exec(text)) n++;
  return n;
}

/** Tokens charged for one image input (OpenAI's base cost for a low-detail image). */
export const IMAGE_TOKENS = 85;

/** Overhead tokens per message (role markers), and the tokens that prime the reply. */
export const TOKENS_PER_MESSAGE = 3;
export const REPLY_PRIMING_TOKENS = 3;

/**
 * Estimates prompt tokens the way OpenAI documents its own accounting: for each message,
 * TOKENS_PER_MESSAGE + the tokens of every text field (role, content text, name + 1, tool call
 * names and arguments), IMAGE_TOKENS per image part; then REPLY_PRIMING_TOKENS once. `extra`
 * holds further request text that counts towards the prompt (e.g. serialized tool definitions).
 */
export function estimateMessageTokens(
  messages: ReadonlyArray<{ role: string; texts: readonly string[]; images?: number; name?: string }>,
  extra: readonly string[] = [],
): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const m of messages) {
    total += TOKENS_PER_MESSAGE + countTokens(m.role);
    for (const t of m.texts) total += countTokens(t);
    total += (m.images ?? 0) * IMAGE_TOKENS;
    if (m.name) total += countTokens(m.name) + 1;
  }
  for (const t of extra) total += countTokens(t);
  return total;
}
