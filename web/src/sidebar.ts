// The conversation list: new, select, rename (inline), delete, and "Show more" while the server
// has older ones (GET /conversations pages by cursor). Selecting only announces the new current
// conversation; main.ts loads its history.

import type { Api } from "./api.ts";
import { $, type Conversation, el, emit, on, state } from "./state.ts";
import { latestLoads } from "./latest-load.ts";

let api: Api;
let select: (id: string | null) => void;

/** Conversations per request (most recent activity first). */
const PAGE_SIZE = 50;
/** Where the next page starts (the server's nextCursor), or null when all are listed. */
let nextCursor: string | null = null;
/** Reloads of the list: the latest one's answer is shown (latest-load.ts). */
const loads = latestLoads();

function page(before: string | null) {
  const query = `limit=${PAGE_SIZE}` + (before ? `&before=${encodeURIComponent(before)}` : "");
  return api.get<{ data: Conversation[]; nextCursor: string | null }>(`conversations?${query}`);
}

/** Reloads the list from the top, as many pages as were shown (a change must not shorten it). */
export function loadConversations(): Promise<void> {
  return loads.start(async (current) => {
    const wanted = Math.max(state.conversations.length, 1);
    const list: Conversation[] = [];
    let cursor: string | null = null;
    do {
      const p = await page(cursor);
      if (!current()) return;
      for (const c of p.data) if (!list.some((x) => x.id === c.id)) list.push(c);
      cursor = p.nextCursor;
    } while (cursor && list.length < wanted);
    nextCursor = cursor;
    state.conversations = list;
    emit("conversations", list);
  });
}

/** The next page, below the ones shown. */
async function loadMore() {
  if (!nextCursor) return;
  const current = loads.stamp();
  const p = await page(nextCursor);
  if (!current()) return;
  const list = [
    ...state.conversations,
    ...p.data.filter((c) => !state.conversations.some((x) => x.id === c.id)),
  ];
  nextCursor = p.nextCursor;
  state.conversations = list;
  emit("conversations", list);
}

/** Signed out: no list (and none still loading) until the next account's. */
export function resetConversations() {
  loads.reset();
  nextCursor = null;
  state.conversations = [];
  emit("conversations", []);
}

function render(list: Conversation[]) {
  const ul = $("conversation-list");
  $("sidebar-empty").hidden = list.length > 0;
  $("more-conversations").hidden = !nextCursor;
  ul.replaceChildren(...list.map((c) => {
    const current = c.id === state.current;
    const open = el("button", {
      type: "button",
      className: "open",
      textContent: c.title,
      title: c.title,
      attrs: current ? { "aria-current": "true" } : {},
    });
    open.addEventListener("click", () => select(c.id));
    const shared = c.members > 1
      ? el("span", { className: "shared", textContent: "shared", title: `${c.members} members` })
      : "";
    const actions: Node[] = [];
    if (c.role === "owner") {
      const rename = el("button", {
        type: "button",
        className: "icon",
        textContent: "✎",
        attrs: { "aria-label": `Rename ${c.title}` },
      });
      rename.addEventListener("click", () => startRename(li, c));
      const del = el("button", {
        type: "button",
        className: "icon",
        textContent: "✕",
        attrs: { "aria-label": `Delete ${c.title}` },
      });
      del.addEventListener("click", () => remove(c));
      actions.push(rename, del);
    }
    const li = el("li", { className: current ? "current" : "" }, open, shared, ...actions);
    li.dataset.id = c.id;
    return li;
  }));
}

function startRename(li: HTMLLIElement, c: Conversation) {
  const input = el("input", {
    type: "text",
    value: c.title,
    maxLength: 200,
    attrs: { "aria-label": "New title" },
  });
  let done = false;
  const finish = async (save: boolean) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    if (save && title && title !== c.title) {
      try {
        await api.patch(`conversations/${c.id}`, { title });
      } catch (e) {
        $("chat-error").textContent = (e as Error).message;
      }
      await loadConversations();
      if (c.id === state.current) $("chat-title").textContent = title;
    } else render(state.conversations);
    li.querySelector<HTMLButtonElement>("button.open")?.focus();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      finish(true);
    } else if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
  li.replaceChildren(input);
  input.focus();
  input.select();
}

async function remove(c: Conversation) {
  if (!confirm(`Delete “${c.title}”? Its messages are deleted for every member.`)) return;
  try {
    await api.del(`conversations/${c.id}`);
  } catch (e) {
    $("chat-error").textContent = (e as Error).message;
    return;
  }
  if (state.current === c.id) select(null);
  await loadConversations();
}

export function initSidebar(theApi: Api, onSelect: (id: string | null) => void) {
  api = theApi;
  select = (id) => {
    onSelect(id);
    document.body.classList.remove("sidebar-open");
    $("menu-toggle").setAttribute("aria-expanded", "false");
  };
  on("conversations", render);
  on("current", () => render(state.conversations));
  $("new-conversation").addEventListener("click", () => select(null));
  const more = $<HTMLButtonElement>("more-conversations");
  more.addEventListener("click", async () => {
    if (more.disabled) return;
    more.disabled = true;
    try {
      await loadMore();
    } catch (e) {
      $("chat-error").textContent = `Could not load more conversations: ${(e as Error).message}`;
    } finally {
      more.disabled = false;
    }
  });
  $("menu-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("sidebar-open");
    $("menu-toggle").setAttribute("aria-expanded", String(open));
    if (open) $("new-conversation").focus();
  });
}
