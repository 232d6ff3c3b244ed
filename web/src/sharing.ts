// Sharing a conversation: the member list (owner can remove, a member can leave), inviting by
// email, who is here now (presence avatars) and the typing line.

import type { Api } from "./api.ts";
import { typingLine } from "./realtime.ts";
import { $, el, type Member, on, state } from "./state.ts";

let api: Api;
let reloadMembers: () => Promise<void>;

function ownerOfCurrent(): boolean {
  return state.conversations.find((c) => c.id === state.current)?.role === "owner";
}

function renderMembers(members: Member[]) {
  const me = state.account?.user.id;
  const owner = ownerOfCurrent();
  $("member-list").replaceChildren(...members.map((m) => {
    const name = m.userId === me ? "You" : m.displayName || "Member";
    const li = el("li", {}, el("span", { textContent: `${name}${m.role === "owner" ? " (owner)" : ""}` }));
    if (m.role !== "owner" && (owner || m.userId === me)) {
      const label = m.userId === me ? "Leave" : `Remove ${name}`;
      const button = el("button", {
        type: "button",
        className: "link",
        textContent: m.userId === me ? "Leave" : "Remove",
        attrs: { "aria-label": label },
      });
      button.addEventListener("click", async () => {
        try {
          await api.del(`conversations/${state.current}/members/${m.userId}`);
          await reloadMembers();
        } catch (e) {
          $("share-status").textContent = (e as Error).message;
        }
      });
      li.append(button);
    }
    return li;
  }));
  $("invite-form").hidden = !owner;
}

function initials(name: string) {
  return name.split(/[\s._@-]+/).filter(Boolean).slice(0, 2).map((p) => p[0]!.toUpperCase()).join("") || "?";
}

export function initSharing(theApi: Api, reload: () => Promise<void>) {
  api = theApi;
  reloadMembers = reload;
  on("members", renderMembers);
  on("current", (id) => {
    $("share-toggle").hidden = !id;
    if (!id) {
      $("share-panel").hidden = true;
      $("share-toggle").setAttribute("aria-expanded", "false");
    }
  });
  on("presence", (people) => {
    const me = state.account?.user.id;
    $("presence").replaceChildren(...people.map((p) =>
      el("li", {
        className: "avatar" + (p.userId === me ? " me" : ""),
        textContent: initials(p.displayName),
        title: p.userId === me ? `${p.displayName} (you)` : p.displayName,
        attrs: { "aria-label": p.userId === me ? `${p.displayName} (you)` : p.displayName },
      })
    ));
  });
  on("typing", (names) => {
    const text = typingLine(names);
    // Only touch the live region when the sentence changes, so it is announced once.
    if ($("typing").textContent !== text) $("typing").textContent = text;
  });
  $("share-toggle").addEventListener("click", () => {
    const panel = $("share-panel");
    panel.hidden = !panel.hidden;
    $("share-toggle").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) (ownerOfCurrent() ? $("invite-email") : $("share-toggle")).focus();
  });
  $("invite-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("invite-email");
    const email = input.value.trim().toLowerCase();
    const status = $("share-status");
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      status.textContent = "Enter the email address of a NEXUS AI user.";
      input.focus();
      return;
    }
    try {
      await api.post(`conversations/${state.current}/members`, { email });
      status.textContent = `Invited ${email}.`;
      input.value = "";
      await reloadMembers();
    } catch (err) {
      status.textContent = (err as Error).message;
    }
  });
}
