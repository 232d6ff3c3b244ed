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
import { applyHeaders, initHeader, resetHeader, whenBlockedChanges } from "./header.ts";
import { initSidebar, loadConversations, resetConversations } from "./sidebar.ts";
import {
  applyPreferences,
  chosenModel,
  initModels,
  loadModels,
  resetModels,
  routingPreference,
  tierSeen,
} from "./models.ts";
import {
  appendStored,
  appendUser,
  clearMessages,
  hasMessage,
  initChatView,
  markShown,
  prependHistory,
  renderHistory,
  setHasEarlier,
  startAssistant,
} from "./chat-view.ts";
import { clearPrompt, coolingDown, initComposer, startCooldown, stopCooldown } from "./composer.ts";
import { createRealtime } from "./realtime.ts";
import { initSharing, type PendingInvitation, showInvitations } from "./sharing.ts";
import { initInvitations, loadInvitations, resetInvitations } from "./invitations.ts";
import { clearKeys, closeNewKey, initKeys, loadKeys } from "./keys.ts";
import { recentTurns } from "./context-window.ts";

declare global {
  var NEXUS_CONFIG: { supabaseUrl: string; supabaseKey: string };
}

const { supabaseUrl, supabaseKey } = globalThis.NEXUS_CONFIG;
// A link from an Auth email that failed (used already, expired) comes back here with the error
// in the fragment (#error=…&error_code=…&error_description=…): said on the sign-in form, and
// taken out of the address before supabase-js reads it.
const authLinkError = new URLSearchParams(location.hash.slice(1)).get("error_description");
if (authLinkError !== null) {
  $("auth-error").textContent = authLinkError;
  globalThis.history.replaceState(globalThis.history.state, "", location.pathname + location.search);
}
const supabase = createClient(supabaseUrl, supabaseKey);
const api = createApi(supabase, supabaseUrl, supabaseKey);
const LAST_CONVERSATION = "nexus.lastConversation";

const prompt = $<HTMLTextAreaElement>("prompt");
const sendButton = $<HTMLButtonElement>("send");
const stopButton = $<HTMLButtonElement>("stop");
const regenerateButton = $<HTMLButtonElement>("regenerate");
const chatError = $("chat-error");

type Turn = { role: "user" | "assistant"; content: string };
/**
 * The current conversation's turns (those loaded), as sent to POST /chat. A new array for each
 * conversation opened, only ever changed in place otherwise: a send holding the array it started
 * with can tell whether it is still the current one.
 */
let history: Turn[] = [];
/** My last question, stored but left without an answer (it failed or was stopped before a word). */
let unanswered: Turn | null = null;
/** Messages per page of history (GET /conversations/:id/messages). */
const HISTORY_PAGE = 200;
/** The current conversation's history is loading: sending waits (it would go without it). */
let historyLoading = false;
/** The oldest message loaded (where the next earlier page ends), if older ones remain. */
let earliestLoaded: string | null = null;
/** My user messages not yet matched to their stored id (so the live `message` event is not shown twice). */
let pendingOwn: { text: string; li: HTMLLIElement }[] = [];
/** Authors' names for the current conversation's messages (names learned later count too). */
const authorNames = () => new Map(state.members.map((m) => [m.userId, memberName(m)]));
let streaming: AbortController | null = null;
let signedInAs: string | null = null;
/** Bumped on each sign-in and sign-out: an account still loading for a previous one stops there. */
let signInSeq = 0;
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
  onConversationsChanged(e) {
    if (e.removed && e.conversationId && sameId(e.conversationId, state.current)) noLongerMember();
    loadConversations().catch(() => {});
  },
  onMessage(e) {
    // In arrival order: each waits for the previous one's read, so a question shows before its answer.
    arrivals = arrivals.then(() => showStored(e.conversationId, e.id, e.userId));
  },
  onMembersChanged(e) {
    if (e.removed && sameId(e.userId, state.account?.user.id)) noLongerMember();
    else loadMembers().catch(() => {});
  },
  onInvitation() {
    loadInvitations().catch(() => {});
  },
  onResumed({ conversationId }) {
    if (conversationId === null) {
      refreshAccount();
      loadConversations().catch(() => {});
      loadInvitations().catch(() => {});
    } else if (sameId(conversationId, state.current)) {
      loadMembers().catch(() => {});
      catchUp(state.current!).catch(() => {});
    }
  },
});

/**
 * The messages of the open conversation stored while its channel was lost, shown in order as
 * if their events had come (those already shown are skipped).
 */
async function catchUp(conversationId: string) {
  await historyReady;
  const page = await api.get<HistoryPage>(`conversations/${conversationId}/messages?limit=${HISTORY_PAGE}`);
  for (const m of page.messages) {
    if (!hasMessage(m.id)) arrivals = arrivals.then(() => showStored(conversationId, m.id, m.userId));
  }
}

/** Ids compare whatever their case (the database's uuids are lowercase; a payload's may not be). */
function sameId(a: unknown, b: string | null | undefined) {
  return typeof a === "string" && !!b && a.toLowerCase() === b.toLowerCase();
}

/** Removed from the conversation on screen (or left it): out of its room, and off the screen. */
function noLongerMember() {
  selectConversation(null).then(() => {
    chatError.textContent = "You are no longer a member of that conversation.";
  });
  loadConversations().catch(() => {});
}

/** Live `message` events still being read, in the order they came. */
let arrivals = Promise.resolve();
/** Settles once the conversation on screen has its history (or failed to get it). */
let historyReady = Promise.resolve();
/** A message id, and nothing else (a forged "id" must not lead the read to another path). */
const MESSAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Shows the stored message a live event names, as the database holds it: the event carries only
 * the id (and anyone in the room can forge one), so the message is read through the API, under
 * RLS; an id that is no message of this conversation, or no longer mine to read, shows nothing.
 */
async function showStored(conversationId: string, id: string, userId: string | null) {
  // After the history on its way: the message may be in it, and must come after it if not.
  await historyReady;
  if (conversationId !== state.current || !MESSAGE_ID.test(id) || hasMessage(id)) return;
  // A message of someone who is no member (after a fresh look at the list, which a new member's
  // first message may be ahead of) is not looked up.
  if (userId && !isMember(userId)) {
    await loadMembers().catch(() => {});
    if (conversationId !== state.current || !isMember(userId)) return;
  }
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

function isMember(userId: unknown) {
  return state.members.some((m) => sameId(userId, m.userId));
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

api.onContext((ctx) => {
  applyHeaders(ctx);
  tierSeen(ctx.tier); // a new plan: which models it allows
});
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

/**
 * Signed out: nothing of the account stays on the page (the next one may be someone else's, in
 * this same tab): conversation, history, members, names learned, keys, errors, quota state, draft.
 */
function forgetAccount() {
  streaming?.abort();
  clearTimeout(refreshTimer);
  loadSeq++; // a history still loading is dropped
  history = [];
  pendingOwn = [];
  historyLoading = false;
  earliestLoaded = null;
  state.account = null;
  state.current = null;
  emit("current", null);
  applyMembers([]);
  resetConversations();
  resetInvitations();
  resetModels();
  clearMessages();
  clearKeys();
  stopCooldown();
  resetHeader();
  clearPrompt();
  chatError.textContent = "";
  $("chat-title").textContent = "New conversation";
  updateSendState();
}

async function showSignedIn(session: Session | null) {
  const userId = session?.user.id ?? null;
  if (userId === signedInAs) return showView();
  const seq = ++signInSeq;
  /** Signed out, or in as someone else, since this sign-in began. */
  const superseded = () => seq !== signInSeq;
  api.newAccount();
  const previous = signedInAs;
  if (previous !== null) forgetAccount();
  signedInAs = userId;
  showView();
  // Another account's channels (its user channel, its room) go before this one's start.
  if (previous !== null || !session) await realtime.stop();
  if (!session || superseded()) return;
  $("account-email").textContent = session.user.email ?? "";
  if (location.hash === "#keys") loadKeys();
  else prompt.focus();
  try {
    const [account] = await Promise.all([api.get<Account>("account"), loadConversations()]);
    if (superseded()) return;
    state.account = account;
    emit("account", account);
    loadInvitations().catch(() => {});
    applyPreferences(account); // the router switch at once; the model list once the catalog is here
    await loadModels();
    if (superseded()) return;
    const name = nameOf(account.profile?.displayName, account.user.email);
    await realtime.start({ id: account.user.id, name }, session.access_token);
    if (superseded()) return; // (a start overtaken by a stop or another start creates no channel)
    const last = localStorage.getItem(LAST_CONVERSATION);
    if (last && state.conversations.some((c) => c.id === last)) await selectConversation(last);
  } catch (e) {
    if (!superseded()) chatError.textContent = `Could not load your account: ${(e as Error).message}`;
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
  const { members, invitations } = await api.get<{ members: Member[]; invitations: PendingInvitation[] }>(
    `conversations/${id}/members`,
  );
  if (id !== state.current) return; // no longer the conversation on screen
  applyMembers(members);
  showInvitations(invitations);
}

function applyMembers(members: Member[]) {
  state.members = members;
  emit("members", members);
}

/** Whether focus is in the composer (or nowhere, e.g. on a button that just hid itself). */
function composerHasFocus() {
  const active = document.activeElement;
  return !active || active === document.body || $("composer").contains(active);
}

/** Back to the composer, unless the user has moved on to another control meanwhile. */
function refocusComposer(hadFocus = composerHasFocus()) {
  if (hadFocus) prompt.focus();
}

type HistoryPage = { messages: StoredMessage[]; members: Member[]; hasMore: boolean };

async function selectConversation(id: string | null) {
  const hadFocus = composerHasFocus();
  if (streaming) streaming.abort();
  const seq = ++loadSeq;
  // no sending until the history (the request's context) is here; nothing to wait for without one
  historyLoading = id !== null;
  let historyHere = () => {};
  historyReady = new Promise((resolve) => historyHere = resolve);
  state.current = id;
  emit("current", id);
  history = [];
  pendingOwn = [];
  earliestLoaded = null;
  chatError.textContent = "";
  const conversation = state.conversations.find((c) => c.id === id);
  $("chat-title").textContent = conversation?.title ?? "New conversation";
  if (id) localStorage.setItem(LAST_CONVERSATION, id);
  else localStorage.removeItem(LAST_CONVERSATION);
  clearMessages();
  realtime.join(id);
  if (id) {
    updateSendState();
    try {
      const data = await api.get<HistoryPage>(`conversations/${id}/messages?limit=${HISTORY_PAGE}`);
      if (seq !== loadSeq) return; // another conversation was selected meanwhile
      applyMembers(data.members);
      renderHistory(data.messages, state.account?.user.id ?? "", authorNames());
      history.push(...data.messages.flatMap(turnOf));
      earliestLoaded = data.hasMore ? data.messages[0]?.id ?? null : null;
      setHasEarlier(earliestLoaded !== null);
    } catch (e) {
      if (seq !== loadSeq) return;
      chatError.textContent = (e as Error).message;
    } finally {
      if (seq === loadSeq) historyLoading = false;
      historyHere();
    }
  } else applyMembers([]);
  historyHere();
  updateSendState();
  refocusComposer(hadFocus);
}

/** The page of history before the oldest message loaded, above it (the turns before the others). */
async function loadEarlier() {
  const id = state.current;
  const before = earliestLoaded;
  const seq = loadSeq;
  if (!id || !before) return;
  let data: HistoryPage;
  try {
    data = await api.get<HistoryPage>(`conversations/${id}/messages?limit=${HISTORY_PAGE}&before=${before}`);
  } catch (e) {
    if (seq === loadSeq) chatError.textContent = `Could not load earlier messages: ${(e as Error).message}`;
    return;
  }
  if (seq !== loadSeq) return; // another conversation meanwhile
  prependHistory(data.messages, state.account?.user.id ?? "", authorNames());
  history.unshift(...data.messages.flatMap(turnOf));
  earliestLoaded = data.hasMore ? data.messages[0]?.id ?? null : null;
  setHasEarlier(earliestLoaded !== null);
}

// ---- sending ----------------------------------------------------------------------------------

function updateSendState() {
  const busy = !!streaming;
  sendButton.disabled = busy || state.blocked || coolingDown() || historyLoading;
  stopButton.hidden = !busy;
  prompt.setAttribute("aria-disabled", String(state.blocked));
  updateRegenerate();
}

/**
 * Regenerate is offered when the last turn is an answer, or a question of mine left without one
 * (stored, but its answer failed or was stopped before its first word): a new answer to it.
 */
function updateRegenerate() {
  const last = history.at(-1);
  regenerateButton.hidden = !!streaming || state.blocked || historyLoading || !state.current ||
    !(last?.role === "assistant" || (last && last === unanswered));
}

/** The answer a Regenerate took off the screen, put back if the new one fails before its first word. */
interface Replaced {
  turn: Turn;
  li: Element | undefined;
}

async function send(text: string | null, replaced?: Replaced) {
  if (streaming || state.blocked || coolingDown() || historyLoading) return;
  chatError.textContent = "";
  // The conversation this send belongs to: if another one is opened meanwhile (which stops this
  // send), nothing below may touch the new one's turns.
  const turns = history;
  const stillCurrent = () => history === turns;
  let userLi: HTMLLIElement | undefined;
  const question = text === null ? turns.at(-1) : { role: "user" as const, content: text };
  unanswered = null;
  if (text !== null) {
    turns.push(question!);
    userLi = appendUser(text);
    pendingOwn.push({ text, li: userLi });
    clearPrompt();
  }
  const reply = startAssistant();
  const controller = new AbortController();
  streaming = controller;
  realtime.stoppedTyping();
  updateSendState();
  const startedIn = state.current;
  /** The answer failed before its first word: a Regenerate's replaced answer comes back. */
  const restoreReplaced = () => {
    if (!replaced || !stillCurrent()) return;
    turns.push(replaced.turn);
    if (replaced.li) $("messages").append(replaced.li); // it was the last one (and the reply's place)
  };
  try {
    const events = streamChat(api, {
      messages: recentTurns(turns),
      conversationId: state.current ?? undefined,
      model: chosenModel(),
      routing: routingPreference(),
      ...(text === null ? { regenerate: true } : {}),
    }, controller.signal);
    for await (const e of events) {
      if (e.conversationId && !startedIn && state.current !== e.conversationId && stillCurrent()) {
        // The first message started a conversation: it is now the current one.
        state.current = e.conversationId;
        localStorage.setItem(LAST_CONVERSATION, e.conversationId);
        emit("current", e.conversationId);
        realtime.join(e.conversationId);
        loadConversations().then(() => {
          const c = state.conversations.find((x) => x.id === e.conversationId);
          if (c && state.current === c.id) $("chat-title").textContent = c.title;
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
    if (stillCurrent()) turns.push({ role: "assistant", content: reply.text() });
    reply.finish();
  } catch (err) {
    if (controller.signal.aborted) {
      if (reply.text() && stillCurrent()) turns.push({ role: "assistant", content: reply.text() });
      else if (stillCurrent() && turns.at(-1) === question) unanswered = question; // stopped before a word
      reply.finish("stopped");
    } else if (stillCurrent()) {
      const e = err as ApiError;
      if (reply.text()) {
        turns.push({ role: "assistant", content: reply.text() });
        reply.finish("interrupted");
      } else if (e.status >= 400 && e.status < 500) {
        // Refused before the stream began (quota, rate limit, validation, gone): nothing was
        // stored, so the message goes back into the composer.
        reply.li.remove();
        if (text !== null) {
          turns.pop();
          userLi?.remove();
          pendingOwn = pendingOwn.filter((p) => p.li !== userLi);
          if (!prompt.value) prompt.value = text;
          prompt.dispatchEvent(new Event("input")); // the character count
        }
        restoreReplaced();
      } else {
        // Failed once admitted (or the server failed): the question stays, Regenerate answers it.
        reply.li.remove();
        restoreReplaced();
        if (turns.at(-1) === question) unanswered = question ?? null;
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
    const hadFocus = composerHasFocus();
    if (streaming === controller) streaming = null;
    updateSendState();
    refreshAccount();
    refocusComposer(hadFocus);
  }
}

stopButton.addEventListener("click", () => streaming?.abort());
regenerateButton.addEventListener("click", () => {
  if (streaming || history.length === 0) return;
  let replaced: Replaced | undefined;
  if (history.at(-1)?.role === "assistant") {
    const li = [...$("messages").querySelectorAll("li.assistant")].at(-1);
    replaced = { turn: history.pop()!, li };
    li?.remove();
  }
  send(null, replaced);
});

initHeader();
initChatView(loadEarlier);
initSidebar(api, (id) => selectConversation(id));
initModels(api);
initSharing(api, loadMembers, noLongerMember);
initInvitations(api, async (conversationId) => {
  await loadConversations();
  await selectConversation(conversationId);
});
initKeys(api, supabaseUrl);
initComposer((text) => send(text), () => realtime.typing());
prompt.addEventListener("blur", () => realtime.stoppedTyping());
