// Sharing a conversation: the member list (owner can remove, a member can leave), inviting by
// email, who is here now (presence avatars) and the typing line.

import type { Api, ApiError } from "./api.ts";
import { typingLine } from "./realtime.ts";
import { $, el, learnedNames, type Member, memberName, nameOf, on, state } from "./state.ts";

let api: Api;
let reloadMembers: () => Promise<void>;
/** Who is in the conversation's room right now (presence), by user id. */
let present = new Set<string>();

function ownerOfCurrent(): boolean {
  return state.conversations.find((c) => c.id === state.current)?.role === "owner";
}

function renderMembers(members: Member[]) {
  const me = state.account?.user.id;
  const owner = ownerOfCurrent();
  $("member-list").replaceChildren(...members.map((m) => {
    const name = m.userId === me ? "You" : memberName(m.userId, m.displayName);
    const here = present.has(m.userId);
    const li = el(
      "li",
      { className: here ? "here" : "" },
      el("span", { textContent: `${name}${m.role === "owner" ? " (owner)" : ""}` }),
      el("span", { className: "presence-note", textContent: here ? "here now" : "away" }),
    );
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
          $("share-error").textContent = (e as Error).message;
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
    $("share-status").textContent = "";
    $("share-error").textContent = "";
    if (!id) {
      $("share-panel").hidden = true;
      $("share-toggle").setAttribute("aria-expanded", "false");
    }
  });
  on("presence", (people) => {
    present = new Set(people.map((p) => p.userId));
    for (const p of people) learnedNames.set(p.userId, p.displayName);
    renderMembers(state.members);
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
    const error = $("share-error");
    status.textContent = "";
    error.textContent = "";
    const fail = (message: string) => {
      error.textContent = message;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    };
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      return fail("Enter the email address of a NEXUS AI user, e.g. name@example.com.");
    }
    try {
      const added = await api.post<{ userId: string; displayName: string | null }>(
        `conversations/${state.current}/members`,
        { email },
      );
      learnedNames.set(added.userId, nameOf(added.displayName, email));
      input.removeAttribute("aria-invalid");
      status.textContent = `Invited ${email}.`;
      input.value = "";
      await reloadMembers();
    } catch (err) {
      const e = err as ApiError;
      fail(
        e.status === 404 && e.code === "not_found"
          ? `No NEXUS AI account uses ${email}. Ask them to sign up first, then invite them.`
          : e.message,
      );
    }
  });
}
