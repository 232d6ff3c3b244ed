// The message list. History renders in one pass (one fragment, one DOM insertion); while a reply
// streams only its own text node grows (no Markdown or list re-render per token), and the reply is
// rendered as Markdown once, when it is complete.

import { renderMarkdown } from "./markdown.ts";
import type { Routing } from "./sse.ts";
import { $, el, type StoredMessage } from "./state.ts";
import { formatUsd } from "./header.ts";

const list = () => $<HTMLOListElement>("messages");
/** Ids of the messages on screen, so a live `message` event never duplicates one. */
const shown = new Set<string>();

export function hasMessage(id: string) {
  return shown.has(id);
}

function metaText(
  model: string | null,
  cost: string | null,
  simulated: boolean,
  usage?: { inputTokens?: number | null; outputTokens?: number | null },
) {
  const parts: string[] = [];
  if (model) parts.push(model);
  if (simulated) parts.push("simulated");
  if (cost !== null) parts.push(`$${cost}`);
  if (usage?.inputTokens != null) parts.push(`${usage.inputTokens} in / ${usage.outputTokens} out`);
  return parts.join(" · ");
}

function userItem(text: string, author?: string): HTMLLIElement {
  const li = el("li", { className: "message user" });
  if (author) li.append(el("span", { className: "author", textContent: author }));
  li.append(el("div", { className: "content", textContent: text }));
  if (author) li.classList.add("other");
  return li;
}

function assistantItem(m: StoredMessage): HTMLLIElement {
  const li = el("li", { className: "message assistant", attrs: { "aria-busy": "false" } }); // complete: not streaming
  const content = el("div", { className: "content markdown" });
  content.innerHTML = renderMarkdown(m.content); // safe: markdown.ts escapes all input HTML
  const meta = el("span", { className: "meta", title: m.cost ? `$${m.cost}` : "" });
  meta.textContent = metaText(m.model, m.cost, false, m);
  if (m.status && m.status !== "complete") meta.textContent += ` · ${m.status}`;
  li.append(content, meta);
  if (m.model) li.dataset.model = m.model;
  if (m.cost !== null) li.dataset.cost = m.cost;
  return li;
}

function itemFor(m: StoredMessage, me: string, names: Map<string, string>): HTMLLIElement | null {
  if (m.role === "system") return null;
  const li = m.role === "user"
    ? userItem(m.content, m.userId && m.userId !== me ? names.get(m.userId) ?? "Member" : undefined)
    : assistantItem(m);
  li.dataset.id = m.id;
  shown.add(m.id);
  return li;
}

/** Replaces the list with a conversation's history, in one DOM insertion. */
export function renderHistory(messages: StoredMessage[], me: string, names: Map<string, string>) {
  shown.clear();
  const fragment = document.createDocumentFragment();
  for (const m of messages) {
    const li = itemFor(m, me, names);
    if (li) fragment.append(li);
  }
  list().replaceChildren(fragment);
  scrollToEnd();
  // Off-screen messages are laid out with an estimated height (content-visibility) until shown;
  // once the last ones have their real size, the end has moved: scroll to it again.
  requestAnimationFrame(scrollToEnd);
}

/**
 * Puts an earlier page of the history above what is shown, keeping the messages in view where they
 * were (the distance from the end is what stays; the browser's scroll anchoring may move it too).
 */
export function prependHistory(messages: StoredMessage[], me: string, names: Map<string, string>) {
  const l = list();
  const fromEnd = l.scrollHeight - l.scrollTop;
  const fragment = document.createDocumentFragment();
  for (const m of messages) {
    if (shown.has(m.id)) continue;
    const li = itemFor(m, me, names);
    if (li) fragment.append(li);
  }
  l.prepend(fragment);
  l.scrollTop = l.scrollHeight - fromEnd;
}

/** Shows the "Load earlier messages" control while older messages remain on the server. */
export function setHasEarlier(hasEarlier: boolean) {
  $("load-earlier").hidden = !hasEarlier;
}

export function clearMessages() {
  shown.clear();
  list().replaceChildren();
  setHasEarlier(false);
}

/** A message stored by someone else (a live event), appended unless it is already shown. */
export function appendStored(m: StoredMessage, me: string, names: Map<string, string>) {
  if (shown.has(m.id)) return;
  const li = itemFor(m, me, names);
  if (!li) return;
  const nearEnd = isNearEnd();
  list().append(li);
  if (nearEnd) scrollToEnd();
}

export function appendUser(text: string): HTMLLIElement {
  const li = userItem(text);
  list().append(li);
  scrollToEnd();
  return li;
}

/**
 * A message on screen is now known by its stored id. Only remembered, not written into the DOM: the
 * id of my own message arrives (live) while a reply streams, and nothing but the streaming message
 * may change then.
 */
export function markShown(id: string) {
  shown.add(id);
}

function isNearEnd() {
  const l = list();
  return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
}

function scrollToEnd() {
  const l = list();
  l.scrollTop = l.scrollHeight;
}

export interface StreamingMessage {
  li: HTMLLIElement;
  text(): string;
  start(e: { messageId?: string; model?: string; simulated?: boolean; routing?: Routing }): void;
  append(delta: string): void;
  reasoning(text: string): void;
  citations(urls: string[]): void;
  cost(cost: string, model: string | undefined, usage?: { inputTokens: number; outputTokens: number }): void;
  /** Done: render the Markdown, clear aria-busy. */
  finish(note?: string): void;
}

export function startAssistant(): StreamingMessage {
  const typingDots = el(
    "span",
    { className: "dots", attrs: { "aria-hidden": "true" } },
    el("i"),
    el("i"),
    el("i"),
  );
  const routing = el("div", { className: "routing", hidden: true });
  const reasoningBox = el(
    "details",
    { className: "reasoning", hidden: true },
    el("summary", { textContent: "Reasoning" }),
  );
  const reasoningText = document.createTextNode("");
  reasoningBox.append(el("div", {}, reasoningText));
  const textNode = document.createTextNode("");
  const content = el("div", { className: "content" }, textNode);
  const meta = el("span", { className: "meta" });
  const li = el(
    "li",
    { className: "message assistant", attrs: { "aria-busy": "true" } },
    routing,
    reasoningBox,
    content,
    typingDots,
    meta,
  );
  list().append(li);
  scrollToEnd();
  let answer = "";
  let simulated = false;
  let pendingScroll = false;
  return {
    li,
    text: () => answer,
    start(e) {
      if (e.messageId) {
        li.dataset.id = e.messageId;
        markShown(e.messageId);
      }
      if (e.model) li.dataset.model = e.model;
      simulated = !!e.simulated;
      if (simulated) li.dataset.simulated = "true";
      if (e.routing && e.model) {
        routing.hidden = false;
        const how = e.routing.selection === "router"
          ? "Smart router chose"
          : e.routing.selection === "default_model"
          ? "Your default model"
          : "You chose";
        routing.textContent = `${how} ${e.model}` + (e.routing.reason ? ` — ${e.routing.reason}` : "");
        routing.title = [
          e.routing.intent && `intent: ${e.routing.intent}`,
          e.routing.complexity && `complexity: ${e.routing.complexity}`,
        ]
          .filter(Boolean).join(", ");
      }
    },
    append(delta) {
      answer += delta;
      textNode.appendData(delta); // grows one text node: no re-parse, no layout of other messages
      if (!pendingScroll && isNearEnd()) {
        pendingScroll = true;
        requestAnimationFrame(() => {
          pendingScroll = false;
          scrollToEnd();
        });
      }
    },
    reasoning(text) {
      reasoningBox.hidden = false;
      reasoningText.appendData(text);
    },
    citations(urls) {
      const safe = urls.filter((u) => /^https?:\/\//i.test(u));
      if (!safe.length) return;
      li.insertBefore(
        el(
          "ol",
          { className: "citations", attrs: { "aria-label": "Sources" } },
          ...safe.map((u) =>
            el(
              "li",
              {},
              el("a", { href: u, textContent: u, target: "_blank", rel: "noopener noreferrer nofollow" }),
            )
          ),
        ),
        meta,
      );
    },
    cost(cost, model, usage) {
      li.dataset.cost = cost;
      meta.textContent = metaText(model ?? li.dataset.model ?? null, cost, simulated, usage);
      meta.title = `Cost ${formatUsd(cost)} (exact $${cost})`;
    },
    finish(note) {
      typingDots.remove();
      if (answer) {
        content.classList.add("markdown");
        content.innerHTML = renderMarkdown(answer); // safe: markdown.ts escapes all input HTML
      }
      if (note) meta.textContent += (meta.textContent ? " · " : "") + note;
      li.setAttribute("aria-busy", "false");
    },
  };
}

/**
 * Copy buttons of code blocks (delegated, so history renders without per-block listeners), and the
 * "Load earlier messages" control (busy while its page loads).
 */
export function initChatView(loadEarlier: () => Promise<void>) {
  const earlier = $<HTMLButtonElement>("load-earlier");
  earlier.addEventListener("click", async () => {
    if (earlier.disabled) return;
    earlier.disabled = true;
    try {
      await loadEarlier();
    } finally {
      earlier.disabled = false;
    }
  });
  list().addEventListener("click", async (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-copy]");
    if (!button) return;
    const code = button.closest(".code-block")?.querySelector("code")?.textContent ?? "";
    // The label says what happened (screen readers read the name, not the old aria-label).
    const say = (text: string, label: string) => {
      button.textContent = text;
      button.setAttribute("aria-label", label);
    };
    try {
      await navigator.clipboard.writeText(code);
      say("Copied", "Copied");
    } catch {
      say("Copy failed", "Copy failed");
    }
    setTimeout(() => say("Copy", "Copy code"), 1500);
  });
}
