// The composer: Enter sends, Shift+Enter adds a line, Enter while an IME is composing does not
// send; validation (empty, over 100,000 characters) with the limit shown; the rate-limit
// countdown that pauses sending until Retry-After has passed.

import { $ } from "./state.ts";

export const MAX_CHARS = 100_000; // the API's per-message limit (POST /chat validation)
const fmt = new Intl.NumberFormat("en-US");

const prompt = () => $<HTMLTextAreaElement>("prompt");
let cooldownUntil = 0;
let cooldownTimer: ReturnType<typeof setInterval> | undefined;

/** Why the text cannot be sent, or null when it can. */
export function validate(text: string): string | null {
  if (!text.trim()) return "Type a message first.";
  if (text.length > MAX_CHARS) {
    return `Your message is ${fmt.format(text.length)} characters; the limit is ${
      fmt.format(MAX_CHARS)
    }. Shorten it to send.`;
  }
  return null;
}

function updateCount() {
  const n = prompt().value.length;
  const count = $("prompt-count");
  count.textContent = `${fmt.format(n)} / ${fmt.format(MAX_CHARS)}`;
  count.classList.toggle("over", n > MAX_CHARS);
  prompt().setAttribute("aria-invalid", String(n > MAX_CHARS));
}

export function clearPrompt() {
  prompt().value = "";
  updateCount();
}

export function coolingDown(): boolean {
  return Date.now() < cooldownUntil;
}

/**
 * 429: the error line (an alert) says so once, with the wait; the countdown ticks next to it in an
 * element that is not announced; sending resumes at zero.
 */
export function startCooldown(seconds: number, onDone: () => void) {
  cooldownUntil = Date.now() + seconds * 1000;
  clearInterval(cooldownTimer);
  const error = $("chat-error");
  const countdown = $("cooldown");
  error.dataset.kind = "rate-limit";
  error.textContent = `Rate limit reached: too many requests this minute. Sending is paused for ${
    Math.ceil(seconds)
  } s.`;
  const tick = () => {
    const left = Math.ceil((cooldownUntil - Date.now()) / 1000);
    if (left <= 0) {
      stopCooldown();
      onDone();
      return;
    }
    countdown.textContent = `You can send again in ${left} s.`;
  };
  tick();
  cooldownTimer = setInterval(tick, 1000);
}

/** Ends the countdown (it ran out, or the account signed out) and clears its messages. */
export function stopCooldown() {
  cooldownUntil = 0;
  clearInterval(cooldownTimer);
  $("cooldown").textContent = "";
  const error = $("chat-error");
  if (error.dataset.kind === "rate-limit") error.textContent = "";
  delete error.dataset.kind;
}

export function initComposer(onSubmit: (text: string) => void, onTyping: () => void) {
  const form = $<HTMLFormElement>("composer");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = prompt().value;
    const problem = validate(text);
    if (problem) {
      $("chat-error").textContent = problem;
      prompt().focus();
      return;
    }
    onSubmit(text.trim());
  });
  prompt().addEventListener("keydown", (e) => {
    // keyCode 229: some browsers report IME composition only this way on the confirming Enter.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  prompt().addEventListener("input", () => {
    updateCount();
    if ($("chat-error").dataset.kind !== "rate-limit") $("chat-error").textContent = "";
    if (prompt().value) onTyping();
  });
  updateCount();
}
