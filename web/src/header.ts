// The header: who I am, my tier, how much of the month's quota is left (with the 80 % / 95 %
// warnings and the blocked state at 100 %), what I spent, and whether live updates are connected.

import { type UserContext } from "./api.ts";
import { $, type Account, type Connection, el, nameOf, on, state } from "./state.ts";

const TIERS: Record<string, string> = { free: "Free", pro: "Pro", team: "Team", enterprise: "Enterprise" };
const NEXT_TIER: Record<string, string> = { free: "Pro", pro: "Team", team: "Enterprise" };
const count = new Intl.NumberFormat("en-US");

export type QuotaLevel = "ok" | "warn" | "critical" | "blocked";

export function quotaLevel(used: number, limit: number | null): QuotaLevel {
  if (limit === null || limit <= 0) return "ok";
  const share = used / limit;
  return share >= 1 ? "blocked" : share >= 0.95 ? "critical" : share >= 0.8 ? "warn" : "ok";
}

/** Money for people: at least two decimals, up to six significant, the exact value in the title. */
export function formatUsd(value: string): string {
  const n = Number(value);
  if (n === 0) return "$0.00";
  if (n >= 0.01) return `$${n.toFixed(2)}`;
  // Never exponent notation ("$1.2e-7"): fractions of a cent with two significant digits.
  return `$${n.toLocaleString("en-US", { maximumSignificantDigits: 2 })}`;
}

function renderQuota(tier: string, limit: number | null, remaining: number | null, periodEnd?: string) {
  const text = $("account-quota");
  const meter = $("quota-meter");
  const banner = $("quota-banner");
  if (limit === null) {
    // Unlimited (enterprise, or another account): nothing to warn about, and never blocked.
    text.textContent = "Unlimited requests";
    meter.hidden = true;
    banner.hidden = true;
    banner.dataset.level = "ok";
    document.body.dataset.quota = "ok";
    setBlocked(false);
    return;
  }
  const left = Math.max(0, remaining ?? limit);
  const used = limit - left;
  const level = quotaLevel(used, limit);
  const pct = Math.min(100, Math.round((used / limit) * 100));
  text.textContent = `${count.format(left)} / ${count.format(limit)} requests left`;
  meter.hidden = false;
  meter.dataset.level = level;
  meter.setAttribute("aria-valuenow", String(pct));
  meter.setAttribute("aria-valuetext", `${pct}% of ${limit} monthly requests used`);
  (meter.firstElementChild as HTMLElement).style.width = `${pct}%`;

  document.body.dataset.quota = level;
  banner.dataset.level = level;
  const resets = periodEnd
    ? ` on ${new Date(periodEnd).toLocaleDateString(undefined, { month: "long", day: "numeric" })}`
    : " next month";
  const upgrade = NEXT_TIER[tier]
    ? ` Upgrade to ${NEXT_TIER[tier]} for a larger quota,`
    : " Contact your administrator,";
  banner.hidden = level === "ok";
  if (level === "blocked") {
    banner.innerHTML = "";
    banner.append(
      Object.assign(document.createElement("strong"), { textContent: "Monthly quota used up. " }),
      `You have used all ${count.format(limit)} requests of your ${
        TIERS[tier] ?? tier
      } plan; sending is paused.` +
        `${upgrade} or wait until your quota resets${resets}.`,
    );
  } else if (level !== "ok") {
    banner.textContent = `${level === "critical" ? "Almost out: " : "Heads up: "}` +
      `${pct}% of this month's ${count.format(limit)} requests used (${count.format(left)} left).`;
  }
  setBlocked(level === "blocked");
}

function setBlocked(blocked: boolean) {
  state.blocked = blocked;
  onBlocked?.(blocked);
}

/** Signed out: the header forgets the account (its quota state, blocked or not, included). */
export function resetHeader() {
  shown = "";
  for (const id of ["account-email", "account-tier", "account-quota", "account-cost"]) $(id).textContent = "";
  $("avatar").replaceChildren();
  $("quota-meter").hidden = true;
  $("quota-banner").hidden = true;
  $("quota-banner").dataset.level = "ok";
  delete document.body.dataset.quota;
  setBlocked(false);
}

let onBlocked: ((blocked: boolean) => void) | undefined;
export function whenBlockedChanges(fn: (blocked: boolean) => void) {
  onBlocked = fn;
}

export function renderAccount(a: Account) {
  $("account-email").textContent = a.user.email;
  const name = nameOf(a.profile?.displayName, a.user.email);
  const avatar = $("avatar");
  avatar.title = name;
  const url = a.profile?.avatarUrl;
  // The picture when the profile has one (http(s), checked by the API), else the initial.
  if (url && /^https?:\/\//i.test(url)) {
    if (avatar.querySelector("img")?.getAttribute("src") !== url) {
      avatar.replaceChildren(el("img", { src: url, alt: "", referrerPolicy: "no-referrer" }));
    }
  } else avatar.textContent = name.slice(0, 1).toUpperCase();
  renderTier(a.subscription.tier);
  renderQuota(a.subscription.tier, a.quota.monthlyQuota, a.quota.remaining, a.quota.periodEnd);
  shown = JSON.stringify([a.subscription.tier, a.quota.monthlyQuota, a.quota.remaining, a.quota.periodEnd]);
  $("account-cost").textContent = `Session ${formatUsd(a.cost.session)} · Total ${formatUsd(a.cost.total)}`;
  $("account-cost").title =
    `Cost this session $${a.cost.session} · this month $${a.cost.month} · all time $${a.cost.total}`;
}

function renderTier(tier: string) {
  const badge = $("account-tier");
  badge.textContent = tier; // capitalized by CSS; the raw tier is what tests and screen readers get
  badge.dataset.tier = tier;
  badge.setAttribute("aria-label", `${TIERS[tier] ?? tier} plan`);
}

/** What the header shows, as last rendered from a response's headers or the account. */
let shown = "";

/**
 * Every response's headers: the freshest view of the quota, between account reloads. Headers
 * that say what is already shown change nothing on the page (an answer streaming meanwhile is
 * the only thing that should move).
 */
export function applyHeaders(ctx: UserContext) {
  const now = JSON.stringify([ctx.tier, ctx.quotaLimit, ctx.quotaRemaining, state.account?.quota.periodEnd]);
  if (now === shown) return;
  shown = now;
  if (ctx.tier) renderTier(ctx.tier);
  if (ctx.quotaLimit === undefined) return;
  const a = state.account;
  if (a) {
    a.quota.monthlyQuota = ctx.quotaLimit;
    a.quota.remaining = ctx.quotaRemaining ?? null;
    if (ctx.quotaLimit !== null && ctx.quotaRemaining != null) {
      a.quota.used = ctx.quotaLimit - ctx.quotaRemaining;
    }
  }
  renderQuota(
    ctx.tier ?? a?.subscription.tier ?? "free",
    ctx.quotaLimit,
    ctx.quotaRemaining ?? null,
    a?.quota.periodEnd,
  );
}

const CONNECTION_TEXT: Record<Connection, string> = {
  offline: "Offline",
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
};

export function initHeader() {
  on("account", renderAccount);
  on("connection", (c) => {
    $("connection").dataset.state = c;
    $("connection-text").textContent = CONNECTION_TEXT[c];
  });
}
