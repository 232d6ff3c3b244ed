// Model choice: the smart-router toggle (saved to the account) and, when it is off, a dropdown of
// the catalog with provider, price per 1M tokens in/out and capabilities; models the tier cannot
// use are listed but disabled.

import type { Api } from "./api.ts";
import { $, type Account, el, emit, type Model, state } from "./state.ts";

let api: Api;
const toggle = () => $<HTMLInputElement>("smart-router");
const select = () => $<HTMLSelectElement>("model");

function price(m: Model): string {
  const p = m.pricing;
  if (p.unit !== "tokens" || p.inputPerMTok === undefined) return `priced per ${p.unit}`;
  return `$${Number(p.inputPerMTok)} / $${Number(p.outputPerMTok)} per 1M`;
}

export function modelLabel(m: Model): string {
  const caps = m.capabilities.filter((c) => c !== "chat").slice(0, 3).join(", ");
  return `${m.name} · ${price(m)}${caps ? ` · ${caps}` : ""}${m.available ? "" : " (not in your plan)"}`;
}

export async function loadModels(tier: string | null = state.account?.subscription.tier ?? null) {
  const { data } = await api.get<{ data: Model[] }>("models");
  catalogTier = tier;
  const previous = select().value; // a reload (new tier) keeps the choice if the plan allows it
  // Only chat models answer POST /chat; retired ones are left out.
  state.models = data.filter((m) => m.capabilities.includes("chat") && !m.shutDown);
  const byProvider = new Map<string, Model[]>();
  for (const m of state.models) byProvider.set(m.provider, [...byProvider.get(m.provider) ?? [], m]);
  select().replaceChildren(
    ...[...byProvider].map(([provider, models]) =>
      el(
        "optgroup",
        { label: provider },
        ...models.map((m) =>
          el("option", { value: m.id, textContent: modelLabel(m), disabled: !m.available })
        ),
      )
    ),
  );
  if (state.models.some((m) => m.id === previous && m.available)) {
    select().value = previous;
    showControls();
  } // The dropdown only: the switch may have been flipped while the catalog loaded (its save may
  // still be on the way), and the account in hand would flip it back.
  else selectPreferredModel();
}

/** The tier the catalog was loaded for: which models are "(not in your plan)" depends on it. */
let catalogTier: string | null = null;

/**
 * The tier as a response or event says it now: when it changed since the catalog was loaded (an
 * upgrade mid-session), the catalog is loaded again.
 */
export function tierSeen(tier: string | undefined) {
  if (tier && catalogTier && tier !== catalogTier) {
    catalogTier = tier;
    loadModels(tier).catch(() => {});
  }
}

/** Signed out: no catalog (nor a choice in it) until the next account's. */
export function resetModels() {
  catalogTier = null;
  state.models = [];
  select().replaceChildren();
}

/** Reflects the account's preferences in the controls. */
export function applyPreferences(a: Account | null = state.account) {
  if (!a) return;
  toggle().checked = a.preferences.smartRouter;
  selectPreferredModel(a);
}

/** The default model (else the first one the plan allows) chosen in the dropdown. */
function selectPreferredModel(a: Account | null = state.account) {
  if (!a) return;
  const preferred = state.models.find((m) => m.id === a.preferences.defaultModel && m.available) ??
    state.models.find((m) => m.available);
  if (preferred) select().value = preferred.id;
  showControls();
}

function showControls() {
  const routerOn = toggle().checked;
  $("model-label").hidden = routerOn;
  $("routing-pref-label").hidden = !routerOn;
  const m = state.models.find((x) => x.id === select().value);
  $("model-info").textContent = routerOn
    ? "The router picks a model for each message."
    : m
    ? `${m.provider}${m.simulated ? " · simulated" : ""}`
    : "";
}

/** What to send: an explicit model when the router is off (so the choice never depends on timing). */
export function chosenModel(): string | undefined {
  return toggle().checked ? undefined : select().value || undefined;
}

export function routingPreference(): "balanced" | "cheapest" | "best" | undefined {
  const v = $<HTMLSelectElement>("routing-pref").value;
  return toggle().checked && v !== "balanced" ? v as "cheapest" | "best" : undefined;
}

async function save(patch: Record<string, unknown>) {
  try {
    const a = await api.patch<Account>("account", patch);
    state.account = a;
    emit("account", a);
  } catch (e) {
    $("chat-error").textContent = `Could not save your preference: ${(e as Error).message}`;
  }
}

export function initModels(theApi: Api) {
  api = theApi;
  toggle().addEventListener("change", () => {
    showControls();
    // (no model yet while the catalog loads: the dropdown's choice is saved once made)
    const model = toggle().checked ? "" : select().value;
    save({ smartRouter: toggle().checked, ...(model ? { defaultModel: model } : {}) });
  });
  select().addEventListener("change", () => {
    showControls();
    save({ defaultModel: select().value });
  });
}
