// NEXUS AI web client: wires auth, the API, the views and Realtime together, and runs the send
// flow (stream, stop, regenerate, quota and rate-limit handling). Configuration comes from the
// host's /config.js (the Supabase URL and publishable key, nothing secret).

import { createClient, type Session } from "@supabase/supabase-js";
import { ApiError, createApi, moneyText } from "./api.ts";
import { streamChat } from "./sse.ts";
import {
  $,
  type Account,
  emit,
  type Member,
  memberName,
  nameOf,
  state,
  type StoredMessage,
} from "./state.ts";
import { applyHeaders, initHeader, whenBlockedChanges } from "./header.ts";
import { initSidebar, loadConversations } from "./sidebar.ts";
import { applyPreferences, chosenModel, initModels, loadModels, routingPreference } from "./models.ts";
import {
  appendStored,
  appendUser,
  clearMessages,
  hasMessage,
  initChatView,
  markShown,
  renderHistory,
  startAssistant,
} from "./chat-view.ts";
import { clearPrompt, coolingDown, initComposer, startCooldown } from "./composer.ts";
import { createRealtime } from "./realtime.ts";
import { initSharing } from "./sharing.ts";
import { closeNewKey, initKeys, loadKeys } from "./keys.ts";
import { recentTurns } from "./context-window.ts";

declare global {
  var NEXUS_CONFIG: { supabaseUrl: string; supabaseKey: string };
}

const { supabaseUrl, supabaseKey } = globalThis.NEXUS_CONFIG;
const supabase = createClient(supabaseUrl, supabaseKey);
const api = createApi(supabase, supabaseUrl, supabaseKey);
const LAST_CONVERSATION = "nexus.lastConversation";

const prompt = $<HTMLTextAreaElement>("prompt");
const sendButton = $<HTMLButtonElement>("send");
const stopButton = $<HTMLButtonElement>("stop");
const regenerateButton = $<HTMLButtonElement>("regenerate");
const chatError = $("chat-error");

/** The current conversation's turns, as sent to POST /chat. */
let history: { role: "user" | "assistant"; content: string }[] = [];
/** My user messages not yet matched to their stored id (so the live `message` event is not shown twice). */
let pendingOwn: { text: string; li: HTMLLIElement }[] = [];
/** Authors' names for the current conversation's messages (names learned later count too). */
const authorNames = () => new Map(state.members.map((m) => [m.userId, memberName(m)]));
let streaming: AbortController | null = null;
let signedInAs: string | null = null;
let loadSeq = 0;

const realtime = createRealtime(supabase, {
  onQuota(e) {
    // The event's numbers went through JSON.parse in supabase-js (floats); reload the account for
    // the exact sums, but show the new remaining count at once.
    applyHeaders({
      tier: e.quota.tier,
      quotaLimit: e.quota.monthlyQuota,
      quotaRemaining: e.quota.monthRemaining,
    });
    if (state.account) {
      state.account.cost.total = moneyText(e.totals.total);
      state.account.cost.month = moneyText(e.totals.month);
    }
    refreshAccount();
  },
  onConversationsChanged: () => loadConversations().catch(() => {}),
  onMessage(e) {
    // In arrival order: each waits for the previous one's read, so a question shows before its answer.
    arrivals = arrivals.then(() => showStored(e.conversationId, e.id));
  },
  onMembersChanged: () => loadMembers().catch(() => {}),
});

/** Live `message` events still being read, in the order they came. */
let arrivals = Promise.resolve();
/** A message id, and nothing else (a forged "id" must not lead the read to another path). */
const MESSAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Shows the stored message a live event names, as the database holds it: the event carries only
 * the id (and anyone in the room can forge one), so the message is read through the API, under
 * RLS; an id that is no message of this conversation, or no longer mine to read, shows nothing.
 */
async function showStored(conversationId: string, id: string) {
  if (conversationId !== state.current || !MESSAGE_ID.test(id) || hasMessage(id)) return;
  let m: StoredMessage;
  try {
    m = await api.get<StoredMessage>(`conversations/${conversationId}/messages/${id}`);
  } catch {
    return;
  }
  if (conversationId !== state.current || hasMessage(m.id)) return; // moved on, or shown meanwhile
  const me = state.account?.user.id ?? "";
  if (m.role === "user" && m.userId === me) {
    const i = pendingOwn.findIndex((p) => p.text === m.content);
    if (i >= 0) {
      markShown(m.id);
      pendingOwn.splice(i, 1);
      return;
    }
  }
  appendStored(m, me, authorNames());
  history.push(...turnOf(m));
  updateRegenerate();
}

/** A stored message as the turn POST /chat is sent, if it is one (not system, not an empty reply). */
function turnOf(m: StoredMessage): { role: "user" | "assistant"; content: string }[] {
  return (m.role === "user" || m.role === "assistant") && m.content
    ? [{ role: m.role, content: m.content }]
    : [];
}

// ---- account ----------------------------------------------------------------------------------

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
/** Reloads the account (exact costs, quota) soon; several triggers in a row make one request. */
function refreshAccount() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try {
      const a = await api.get<Account>("account");
      state.account = a;
      emit("account", a);
    } catch { /* the next reply or event retries */ }
  }, 250);
}

api.onContext(applyHeaders);
whenBlockedChanges(() => updateSendState());

// ---- auth -------------------------------------------------------------------------------------

/** Which screen shows: sign-in, the chat, or the keys page (#keys, a hash so any static host serves it). */
function showView() {
  const signedIn = signedInAs !== null;
  const keys = signedIn && location.hash === "#keys";
  $("auth-view").hidden = signedIn;
  $("app-view").hidden = !signedIn || keys;
  $("chat-view").hidden = !signedIn;
  $("keys-view").hidden = !keys;
  $("account").hidden = !signedIn;
  $("menu-toggle").hidden = !signedIn || keys;
  if (keys) $("keys-link").setAttribute("aria-current", "page");
  else $("keys-link").removeAttribute("aria-current");
  document.title = keys ? "API keys · NEXUS AI" : "NEXUS AI";
}

addEventListener("hashchange", () => {
  if (signedInAs === null) return;
  showView();
  if (location.hash === "#keys") {
    $("keys-title").focus();
    loadKeys();
  } else {
    closeNewKey(); // shown once: leaving the page forgets it
    prompt.focus();
  }
});

async function showSignedIn(session: Session | null) {
  const userId = session?.user.id ?? null;
  if (userId === signedInAs) return showView();
  signedInAs = userId;
  showView();
  if (!session) {
    closeNewKey();
    streaming?.abort();
    await realtime.stop();
    history = [];
    state.current = null;
    state.account = null;
    clearMessages();
    $("account-email").textContent = "";
    $("account-tier").textContent = "";
    $("account-quota").textContent = "";
    $("account-cost").textContent = "";
    return;
  }
  $("account-email").textContent = session.user.email ?? "";
  if (location.hash === "#keys") loadKeys();
  else prompt.focus();
  try {
    const [account] = await Promise.all([api.get<Account>("account"), loadConversations()]);
    state.account = account;
    emit("account", account);
    applyPreferences(account); // the router switch at once; the model list once the catalog is here
    await loadModels();
    const name = nameOf(account.profile?.displayName, account.user.email);
    await realtime.start({ id: account.user.id, name }, session.access_token);
    const last = localStorage.getItem(LAST_CONVERSATION);
    if (last && state.conversations.some((c) => c.id === last)) await selectConversation(last);
  } catch (e) {
    chatError.textContent = `Could not load your account: ${(e as Error).message}`;
  }
}

async function authenticate(mode: "signIn" | "signUp") {
  const authError = $("auth-error");
  authError.textContent = "";
  const email = $<HTMLInputElement>("email").value.trim();
  const password = $<HTMLInputElement>("password").value;
  if (!email || !password) {
    authError.textContent = "Enter your email and a password.";
    return;
  }
  if (mode === "signIn") {
    const { error } = await supabase.auth.signInWithPassword({ email, password });
    if (error) authError.textContent = error.message;
    return;
  }
  // Hosted projects confirm email addresses by default: then there is no session yet, and the
  // confirmation link should bring the user back here, not to the project's Site URL.
  const { data, error } = await supabase.auth.signUp({
    email,
    password,
    options: { emailRedirectTo: location.origin + location.pathname },
  });
  if (error) authError.textContent = error.message;
  else if (!data.session) authError.textContent = `Check ${email} for a confirmation link, then sign in.`;
}

$("auth-form").addEventListener("submit", (e) => {
  e.preventDefault();
  authenticate("signIn");
});
$("sign-up").addEventListener("click", () => authenticate("signUp"));
$("sign-out").addEventListener("click", () => {
  localStorage.removeItem(LAST_CONVERSATION);
  supabase.auth.signOut();
});
supabase.auth.onAuthStateChange((event, session) => {
  if (event === "TOKEN_REFRESHED" && session) realtime.refreshAuth(session.access_token);
  // Deferred: supabase-js holds a lock during this callback, and showSignedIn calls back into it.
  setTimeout(() => showSignedIn(session), 0);
});

// ---- conversations ----------------------------------------------------------------------------

/** Reloads the current conversation's members (with their names), not its history. */
async function loadMembers() {
  const id = state.current;
  if (!id) return;
  const { members } = await api.get<{ members: Member[] }>(`conversations/${id}/members`);
  if (id === state.current) applyMembers(members); // still the conversation on screen
}

function applyMembers(members: Member[]) {
  state.members = members;
  emit("members", members);
}

async function selectConversation(id: string | null) {
  if (streaming) streaming.abort();
  const seq = ++loadSeq;
  state.current = id;
  emit("current", id);
  history = [];
  pendingOwn = [];
  chatError.textContent = "";
  const conversation = state.conversations.find((c) => c.id === id);
  $("chat-title").textContent = conversation?.title ?? "New conversation";
  if (id) localStorage.setItem(LAST_CONVERSATION, id);
  else localStorage.removeItem(LAST_CONVERSATION);
  clearMessages();
  realtime.join(id);
  if (id) {
    try {
      const data = await api.get<{ messages: StoredMessage[]; members: Member[] }>(
        `conversations/${id}/messages`,
      );
      if (seq !== loadSeq) return; // another conversation was selected meanwhile
      applyMembers(data.members);
      renderHistory(data.messages, state.account?.user.id ?? "", authorNames());
      history = data.messages.flatMap(turnOf);
    } catch (e) {
      chatError.textContent = (e as Error).message;
    }
  } else applyMembers([]);
  updateRegenerate();
  prompt.focus();
}

// ---- sending ----------------------------------------------------------------------------------

function updateSendState() {
  const busy = !!streaming;
  sendButton.disabled = busy || state.blocked || coolingDown();
  stopButton.hidden = !busy;
  prompt.setAttribute("aria-disabled", String(state.blocked));
  updateRegenerate();
}

function updateRegenerate() {
  regenerateButton.hidden = !!streaming || state.blocked || history.at(-1)?.role !== "assistant";
}

async function send(text: string | null) {
  if (streaming || state.blocked || coolingDown()) return;
  chatError.textContent = "";
  let userLi: HTMLLIElement | undefined;
  if (text !== null) {
    history.push({ role: "user", content: text });
    userLi = appendUser(text);
    pendingOwn.push({ text, li: userLi });
    clearPrompt();
  }
  const reply = startAssistant();
  const controller = new AbortController();
  streaming = controller;
  updateSendState();
  const startedIn = state.current;
  try {
    const events = streamChat(api, {
      messages: recentTurns(history),
      conversationId: state.current ?? undefined,
      model: chosenModel(),
      routing: routingPreference(),
      ...(text === null ? { regenerate: true } : {}),
    }, controller.signal);
    for await (const e of events) {
      if (e.conversationId && !startedIn && state.current !== e.conversationId) {
        // The first message started a conversation: it is now the current one.
        state.current = e.conversationId;
        localStorage.setItem(LAST_CONVERSATION, e.conversationId);
        emit("current", e.conversationId);
        realtime.join(e.conversationId);
        loadConversations().then(() => {
          const c = state.conversations.find((x) => x.id === e.conversationId);
          if (c) $("chat-title").textContent = c.title;
          return loadMembers();
        }).catch(() => {});
      }
      if (e.messageId || e.routing) reply.start(e);
      if (typeof e.delta === "string") reply.append(e.delta);
      if (typeof e.reasoning === "string") reply.reasoning(e.reasoning);
      if (e.citations) reply.citations(e.citations);
      if (typeof e.cost === "string") reply.cost(e.cost, e.model, e.usage);
      if (e.error) throw new ApiError(e.error.message, 0, e.error.code);
    }
    history.push({ role: "assistant", content: reply.text() });
    reply.finish();
  } catch (err) {
    if (controller.signal.aborted) {
      if (reply.text()) history.push({ role: "assistant", content: reply.text() });
      reply.finish("stopped");
    } else {
      const e = err as ApiError;
      if (reply.text()) {
        history.push({ role: "assistant", content: reply.text() });
        reply.finish("interrupted");
      } else {
        reply.li.remove();
        if (e.status === 402 || e.status === 429) {
          // Not admitted, so nothing was stored: take the message back into the composer.
          if (text !== null) {
            history.pop();
            userLi?.remove();
            pendingOwn = pendingOwn.filter((p) => p.li !== userLi);
            prompt.value = text;
          }
        }
      }
      if (e.status === 402) {
        chatError.textContent = "Your monthly quota is used up, so this message was not sent.";
        refreshAccount();
      } else if (e.status === 429) {
        startCooldown(e.retryAfter ?? 60, updateSendState);
      } else {
        chatError.textContent = e.message ?? String(err);
      }
    }
  } finally {
    if (streaming === controller) streaming = null;
    updateSendState();
    refreshAccount();
    prompt.focus();
  }
}

stopButton.addEventListener("click", () => streaming?.abort());
regenerateButton.addEventListener("click", () => {
  if (streaming || history.at(-1)?.role !== "assistant") return;
  history.pop();
  const last = [...$("messages").querySelectorAll("li.assistant")].at(-1);
  last?.remove();
  send(null);
});

initHeader();
initChatView();
initSidebar(api, (id) => selectConversation(id));
initModels(api);
initSharing(api, loadMembers);
initKeys(api, supabaseUrl);
initComposer((text) => send(text), () => realtime.typing());
prompt.addEventListener("blur", () => realtime.stoppedTyping());
