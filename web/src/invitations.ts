// Invitations to other people's conversations, at the top of the sidebar: each names the
// conversation and who invited me, to accept (I become a member, and it opens) or decline.
// Loaded at sign-in and again whenever my user channel says one arrived.

import type { Api } from "./api.ts";
import { $, el } from "./state.ts";
import { latestLoads } from "./latest-load.ts";

export interface Invitation {
  id: string;
  conversationId: string;
  title: string;
  invitedBy: { userId: string; displayName: string | null };
  invitedAt: string;
}

let api: Api;
let opened: (conversationId: string) => Promise<void>;
/** Loads of my invitations (at sign-in, on each `invitation` event): the latest one's is shown. */
const loads = latestLoads();

export function initInvitations(theApi: Api, open: (conversationId: string) => Promise<void>) {
  api = theApi;
  opened = open;
}

export function loadInvitations(): Promise<void> {
  return loads.start(async (current) => {
    const { data } = await api.get<{ data: Invitation[] }>("conversations/invitations");
    if (current()) render(data);
  });
}

/** Signed out: none shown (and none still loading) until the next account's. */
export function resetInvitations() {
  loads.reset();
  render([]);
}

function render(list: Invitation[]) {
  $("invitations").hidden = list.length === 0;
  $("invitation-list").replaceChildren(...list.map((i) => {
    const from = i.invitedBy.displayName ?? "someone";
    const accept = el("button", {
      type: "button",
      className: "small",
      textContent: "Accept",
      attrs: { "aria-label": `Accept the invitation to ${i.title}` },
    });
    const decline = el("button", {
      type: "button",
      className: "secondary small",
      textContent: "Decline",
      attrs: { "aria-label": `Decline the invitation to ${i.title}` },
    });
    const error = el("p", { className: "error", attrs: { role: "alert" } });
    const answer = async (path: string, method: "post" | "del") => {
      accept.disabled = decline.disabled = true;
      try {
        if (method === "post") await api.post(path);
        else await api.del(path);
        await loadInvitations();
        if (method === "post") await opened(i.conversationId);
      } catch (e) {
        error.textContent = (e as Error).message;
        accept.disabled = decline.disabled = false;
        await loadInvitations().catch(() => {}); // gone meanwhile (cancelled): off the list
      }
    };
    accept.addEventListener("click", () => answer(`conversations/invitations/${i.id}/accept`, "post"));
    decline.addEventListener("click", () => answer(`conversations/invitations/${i.id}`, "del"));
    return el(
      "li",
      {},
      el("span", { className: "invitation-title", textContent: i.title }),
      el("span", { className: "muted", textContent: ` from ${from}` }),
      el("span", { className: "row" }, accept, decline),
      error,
    );
  }));
}
