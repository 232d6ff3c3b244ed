// What of a conversation goes with the next message. A long conversation (hundreds of turns) is not
// sent whole: POST /chat takes at most 500 messages, the model has a context window, and every
// input token counts against the plan's cost cap per request. The most recent turns carry the
// context that matters, so the client sends those, within a message and a character budget.

export type Turn = { role: "user" | "assistant"; content: string };

export const MAX_TURNS = 40;
export const MAX_CHARS = 32_000;

/** The latest turns within the budgets; the last turn (the new message) always goes. */
export function recentTurns(history: Turn[], maxTurns = MAX_TURNS, maxChars = MAX_CHARS): Turn[] {
  let start = history.length - 1;
  let chars = history.at(-1)?.content.length ?? 0;
  while (start > 0 && history.length - start < maxTurns) {
    const next = chars + history[start - 1].content.length;
    if (next > maxChars) break;
    chars = next;
    start--;
  }
  // Begin with a user turn: an answer without its question only misleads the model.
  while (start < history.length - 1 && history[start].role !== "user") start++;
  return history.slice(Math.max(start, 0));
}
