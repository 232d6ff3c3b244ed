// The client's shared state and its change notifications. Views subscribe to the slices they
// draw, so a quota event repaints the header without touching the message list.

export interface Account {
  user: { id: string; email: string };
  profile: { displayName: string | null; avatarUrl: string | null };
  subscription: { tier: string };
  quota: { monthlyQuota: number | null; used: number; remaining: number | null; periodEnd: string };
  rateLimit: { limit: number; remaining: number; resetAt: string };
  preferences: { smartRouter: boolean; defaultModel: string | null };
  cost: { session: string; month: string; total: string; requests: number };
}

export interface Model {
  id: string;
  provider: string;
  name: string;
  capabilities: string[];
  pricing: { unit: string; inputPerMTok?: string; outputPerMTok?: string };
  available: boolean;
  simulated: boolean;
  shutDown?: boolean;
}

export interface Conversation {
  id: string;
  title: string;
  ownerId: string;
  role: "owner" | "member";
  members: number;
  updatedAt: string;
}

/** A conversation's member as its other members see them (GET /conversations/:id/members). */
export interface Member {
  userId: string;
  role: "owner" | "member";
  displayName: string | null;
  email?: string | null;
  avatarUrl?: string | null;
  joinedAt?: string;
}

export interface StoredMessage {
  id: string;
  userId: string | null;
  role: "user" | "assistant" | "system";
  content: string;
  model: string | null;
  cost: string | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  status?: string;
  createdAt?: string;
}

export type Connection = "offline" | "connecting" | "connected" | "reconnecting";

type Events = {
  account: Account;
  conversations: Conversation[];
  current: string | null;
  members: Member[];
  connection: Connection;
  /** The user ids in the current conversation's room (as presence keys say: anyone may claim one). */
  presence: string[];
  /** The user ids typing in the current conversation's room. */
  typing: string[];
};

export const state = {
  account: null as Account | null,
  models: [] as Model[],
  conversations: [] as Conversation[],
  current: null as string | null,
  members: [] as Member[],
  connection: "offline" as Connection,
  /** The month's quota is used up: sending is paused until it resets or the plan changes. */
  blocked: false,
};

// Typed at on()/emit(); stored loosely (TypeScript cannot correlate the key with its listener list).
const listeners: Record<string, ((v: unknown) => void)[]> = {};

export function on<K extends keyof Events>(event: K, fn: (v: Events[K]) => void) {
  (listeners[event] ??= []).push(fn as (v: unknown) => void);
}

export function emit<K extends keyof Events>(event: K, value: Events[K]) {
  for (const fn of listeners[event] ?? []) fn(value);
}

/** What the UI calls a member: the profile's name, else the email's local part. */
export function memberName(member: Pick<Member, "displayName" | "email">): string {
  return member.displayName?.trim() || member.email?.split("@")[0] || "Member";
}

/** A short display name: the profile's, else the email's local part. */
export function nameOf(displayName: string | null | undefined, email?: string): string {
  return displayName?.trim() || email?.split("@")[0] || "Someone";
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { attrs?: Record<string, string> } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const { attrs, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
