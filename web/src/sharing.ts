// Sharing a conversation: the member list with each member's name (owner can remove, a member
// can leave), inviting by email, who is here now (presence avatars, with the member's picture)
// and the typing line.

import type { Api, ApiError } from "./api.ts";
import { typingLine } from "./realtime.ts";
import { $, el, type Member, memberName, on, state } from "./state.ts";

let api: Api;
let reloadMembers: () => Promise<void>;
let onLeft: () => void;
/** The user ids in the conversation's room right now (presence), and those typing, members or not. */
let present = new Set<string>();
let typingIds: string[] = [];

/** The current conversation's member with that id, if any: only members are shown, by their names. */
function memberOf(userId: string): Member | undefined {
  return state.members.find((m) => m.userId === userId);
}

function ownerOfCurrent(): boolean {
  return state.conversations.find((c) => c.id === state.current)?.role === "owner";
}

function renderMembers(members: Member[]) {
  const me = state.account?.user.id;
  const owner = ownerOfCurrent();
  $("member-list").replaceChildren(...members.map((m) => {
    const name = m.userId === me ? "You" : memberName(m);
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
          if (m.userId === me) onLeft(); // no longer mine: out of its room, off the screen
          else await reloadMembers();
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

/**
 * Who is here, as avatars: members only, named from the member list; the member's picture when
 * their profile has one, else initials.
 */
function renderPresence() {
  const me = state.account?.user.id;
  const here = state.members.filter((m) => present.has(m.userId));
  $("presence").replaceChildren(...here.map((m) => {
    const p = { userId: m.userId, displayName: memberName(m) };
    const label = p.userId === me ? `${p.displayName} (you)` : p.displayName;
    const li = el("li", {
      className: "avatar" + (p.userId === me ? " me" : ""),
      title: label,
      attrs: { "aria-label": label },
    });
    const picture = m.avatarUrl;
    // http(s) only (the API checks it too); no referrer goes to the picture's host.
    if (picture && /^https?:\/\//i.test(picture)) {
      li.append(el("img", { src: picture, alt: "", referrerPolicy: "no-referrer" }));
    } else li.textContent = initials(p.displayName);
    return li;
  }));
}

function initials(name: string) {
  return name.split(/[\s._@-]+/).filter(Boolean).slice(0, 2).map((p) => p[0]!.toUpperCase()).join("") || "?";
}

/** The typing line: members only, by their names from the member list. */
function renderTyping() {
  const names = typingIds.flatMap((id) => {
    const m = memberOf(id);
    return m ? [memberName(m)] : [];
  });
  const text = typingLine(names);
  // Only touch the live region when the sentence changes, so it is announced once.
  if ($("typing").textContent !== text) $("typing").textContent = text;
}

/** A pending invitation of the current conversation (its owner sees them). */
export interface PendingInvitation {
  id: string;
  email: string;
  invitedAt: string;
}

/** The owner's pending invitations: who has not accepted yet, each to cancel. */
export function showInvitations(pending: PendingInvitation[]) {
  $("pending").hidden = pending.length === 0;
  $("pending-list").replaceChildren(...pending.map((i) => {
    const cancel = el("button", {
      type: "button",
      className: "link",
      textContent: "Cancel",
      attrs: { "aria-label": `Cancel the invitation of ${i.email}` },
    });
    cancel.addEventListener("click", async () => {
      try {
        await api.del(`conversations/invitations/${i.id}`);
      } catch (e) {
        $("share-error").textContent = (e as Error).message;
      }
      await reloadMembers();
    });
    return el(
      "li",
      {},
      el("span", { textContent: i.email }),
      el("span", { className: "presence-note", textContent: "invited" }),
      cancel,
    );
  }));
}

export function initSharing(theApi: Api, reload: () => Promise<void>, left: () => void) {
  api = theApi;
  reloadMembers = reload;
  onLeft = left;
  on("members", (members) => {
    renderMembers(members);
    renderPresence(); // members' pictures, and who of those here are members
    renderTyping();
  });
  on("current", (id) => {
    $("share-toggle").hidden = !id;
    $("share-status").textContent = "";
    $("share-error").textContent = "";
    showInvitations([]); // the next conversation's come with its members
    if (!id) {
      $("share-panel").hidden = true;
      $("share-toggle").setAttribute("aria-expanded", "false");
      $<HTMLInputElement>("invite-email").value = "";
      $("invite-email").removeAttribute("aria-invalid");
    }
  });
  on("presence", (here) => {
    present = new Set(here);
    renderMembers(state.members);
    renderPresence();
  });
  on("typing", (ids) => {
    typingIds = ids;
    renderTyping();
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
      return fail("Enter an email address, e.g. name@example.com.");
    }
    try {
      await api.post(`conversations/${state.current}/members`, { email });
      input.removeAttribute("aria-invalid");
      status.textContent = `Invitation sent to ${email}: they join once they accept it.`;
      input.value = "";
      await reloadMembers();
    } catch (err) {
      const e = err as ApiError;
      fail(e.status === 409 ? `${email} is already a member of this conversation.` : e.message);
    }
  });
}
