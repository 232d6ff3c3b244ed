// NEXUS AI web client, v1: sign up / sign in / sign out with supabase-js, one conversation, and
// replies streamed from POST /functions/v1/chat with their cost. Configuration comes from the
// host's /config.js (the Supabase URL and publishable key, nothing secret).

import { createClient, type Session } from "@supabase/supabase-js";
import { EventSourceParserStream } from "eventsource-parser/stream";

declare global {
  var NEXUS_CONFIG: { supabaseUrl: string; supabaseKey: string };
}

const { supabaseUrl, supabaseKey } = globalThis.NEXUS_CONFIG;
const supabase = createClient(supabaseUrl, supabaseKey);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const authView = $("auth-view");
const chatView = $("chat-view");
const authForm = $<HTMLFormElement>("auth-form");
const authError = $("auth-error");
const chatError = $("chat-error");
const messagesEl = $<HTMLOListElement>("messages");
const composer = $<HTMLFormElement>("composer");
const prompt = $<HTMLTextAreaElement>("prompt");
const sendButton = $<HTMLButtonElement>("send");

interface Turn {
  role: "user" | "assistant";
  content: string;
}
let history: Turn[] = [];
let conversationId: string | undefined;

// ---- auth -------------------------------------------------------------------------------------

function showSignedIn(session: Session | null) {
  authView.hidden = !!session;
  chatView.hidden = !session;
  $("account").hidden = !session;
  $("account-email").textContent = session?.user.email ?? "";
  if (session) prompt.focus();
  else {
    history = [];
    conversationId = undefined;
    messagesEl.replaceChildren();
    $("account-tier").textContent = "";
    $("account-quota").textContent = "";
  }
}

async function authenticate(mode: "signIn" | "signUp") {
  authError.textContent = "";
  const email = ($("email") as HTMLInputElement).value.trim();
  const password = ($("password") as HTMLInputElement).value;
  if (!email || !password) {
    authError.textContent = "Enter your email and a password.";
    return;
  }
  const { error } = mode === "signUp"
    ? await supabase.auth.signUp({ email, password })
    : await supabase.auth.signInWithPassword({ email, password });
  if (error) authError.textContent = error.message;
}

authForm.addEventListener("submit", (e) => {
  e.preventDefault();
  authenticate("signIn");
});
$("sign-up").addEventListener("click", () => authenticate("signUp"));
$("sign-out").addEventListener("click", () => supabase.auth.signOut());
supabase.auth.onAuthStateChange((_event, session) => showSignedIn(session));
supabase.auth.getSession().then(({ data }) => showSignedIn(data.session));

// ---- chat -------------------------------------------------------------------------------------

function addMessage(
  role: Turn["role"],
  text: string,
): { li: HTMLLIElement; content: HTMLSpanElement; meta: HTMLSpanElement } {
  const li = document.createElement("li");
  li.className = `message ${role}`;
  const content = document.createElement("span");
  content.className = "content";
  content.textContent = text;
  const meta = document.createElement("span");
  meta.className = "meta";
  li.append(content, meta);
  messagesEl.append(li);
  li.scrollIntoView({ block: "end" });
  return { li, content, meta };
}

function showUserContext(res: Response) {
  const tier = res.headers.get("x-user-tier");
  if (tier) $("account-tier").textContent = tier;
  const remaining = res.headers.get("x-quota-remaining");
  const limit = res.headers.get("x-quota-limit");
  if (remaining && limit) {
    $("account-quota").textContent = limit === "unlimited"
      ? "Unlimited requests"
      : `${remaining} / ${limit} requests left`;
  }
}

// The server writes money as JSON numbers with their exact decimal digits. Keep those digits (the
// reviver's source text) rather than a float, so the cost shown is exactly the cost recorded.
function parseEvent(payload: string) {
  return JSON.parse(payload, (key, value, context?: { source?: string }) => {
    if (key !== "cost" || typeof value !== "number") return value;
    if (context?.source && /^\d+(\.\d+)?$/.test(context.source)) return context.source;
    const text = String(value); // browsers without source text access: the shortest round-trip form
    return /e/i.test(text) ? value.toFixed(18).replace(/\.?0+$/, "") : text;
  });
}

async function send(text: string) {
  const { data } = await supabase.auth.getSession();
  if (!data.session) return;
  chatError.textContent = "";
  history.push({ role: "user", content: text });
  addMessage("user", text);
  const reply = addMessage("assistant", "");
  reply.li.setAttribute("aria-busy", "true");
  sendButton.disabled = true;

  let answer = "";
  try {
    const res = await fetch(`${supabaseUrl}/functions/v1/chat`, {
      method: "POST",
      headers: {
        "authorization": `Bearer ${data.session.access_token}`,
        "apikey": supabaseKey,
        "content-type": "application/json",
      },
      body: JSON.stringify({ messages: history, conversationId, stream: true }),
    });
    showUserContext(res);
    if (!res.ok || !res.body) {
      const body = await res.json().catch(() => null);
      throw new Error(body?.error?.message ?? `Request failed (${res.status})`);
    }
    const events = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
    for await (const { data: payload } of events) {
      if (payload === "[DONE]") break;
      const event = parseEvent(payload);
      if (event.conversationId) conversationId = event.conversationId;
      if (event.model) reply.li.dataset.model = event.model;
      if (event.simulated) reply.li.dataset.simulated = "true";
      if (typeof event.delta === "string") {
        answer += event.delta;
        reply.content.textContent = answer;
        reply.li.scrollIntoView({ block: "end" });
      }
      if (typeof event.cost === "string") {
        const simulated = reply.li.dataset.simulated ? " · simulated" : "";
        reply.meta.textContent =
          `${event.model}${simulated} · $${event.cost} · ${event.usage.inputTokens} in / ${event.usage.outputTokens} out`;
        reply.li.dataset.cost = event.cost;
      }
      if (event.error) throw new Error(event.error.message);
    }
    history.push({ role: "assistant", content: answer });
  } catch (e) {
    chatError.textContent = e instanceof Error ? e.message : String(e);
    if (!answer) reply.li.remove();
    else history.push({ role: "assistant", content: answer });
    if (!answer) history.pop();
  } finally {
    reply.li.setAttribute("aria-busy", "false");
    sendButton.disabled = false;
    prompt.focus();
  }
}

composer.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = prompt.value.trim();
  if (!text || sendButton.disabled) return;
  prompt.value = "";
  send(text);
});

prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    composer.requestSubmit();
  }
});
