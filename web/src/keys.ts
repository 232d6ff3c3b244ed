// The API keys page (#keys): create a key (name, optional monthly budget), see the full key once
// with a copy button and ready-to-paste examples, list my keys (prefix, created, last used, spend
// against budget) and revoke one after a confirmation. The full key lives only in this page's
// memory and the one field that shows it, until the panel is closed; the API never returns it again.

import type { Api } from "./api.ts";
import { formatUsd } from "./header.ts";
import { $, el } from "./state.ts";

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  monthlyBudgetUsd: string | null;
  spendThisMonthUsd: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const MAX_BUDGET = 1_000_000; // the API's limit (POST /account/keys validation)
const KEY_ENV = "NEXUS_API_KEY";

let api: Api;
let baseUrl: string;
/** The key just created, until its panel is closed; never stored anywhere else. */
let freshKey: string | null = null;

/** Why the budget text is not acceptable, or null (empty means no budget). */
export function budgetProblem(text: string): string | null {
  if (!text) return null;
  if (!/^\d+(\.\d{1,6})?$/.test(text)) return "Enter the budget in US dollars, e.g. 5 or 12.50.";
  const n = Number(text);
  if (n <= 0) return "The budget must be more than $0 (leave it empty for no budget).";
  if (n > MAX_BUDGET) return `The budget can be at most $${MAX_BUDGET.toLocaleString("en-US")}.`;
  return null;
}

/** The examples, with the fresh key when there is one (else the environment variable is assumed set). */
export function examples(apiBase: string, key: string | null) {
  const url = `${apiBase}/functions/v1/openai`;
  const exportLine = key ? `export ${KEY_ENV}="${key}"` : `# export ${KEY_ENV}="nx_…"  (your key)`;
  const curl = `${exportLine}
curl ${url}/chat/completions \\
  -H "Authorization: Bearer $${KEY_ENV}" \\
  -H "Content-Type: application/json" \\
  -d '{"model":"auto","messages":[{"role":"user","content":"Hello!"}]}'`;
  const js = `// npm install openai   ·   ${KEY_ENV} set as in the curl example
import OpenAI from "openai";

const client = new OpenAI({
  apiKey: process.env.${KEY_ENV},
  baseURL: "${url}",
});
const answer = await client.chat.completions.create({
  model: "auto", // the smart router; or any id from client.models.list()
  messages: [{ role: "user", content: "Hello!" }],
});
console.log(answer.choices[0].message.content, answer.usage);`;
  return { url, curl, js };
}

function renderExamples() {
  const { url, curl, js } = examples(baseUrl, freshKey);
  $("example-base").textContent = url;
  $("example-curl").textContent = curl;
  $("example-js").textContent = js;
}

function when(iso: string | null): Node {
  if (!iso) return document.createTextNode("Never");
  const d = new Date(iso);
  return el("time", {
    dateTime: d.toISOString(),
    textContent: d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }),
  });
}

function spend(k: ApiKey): Node {
  const text = formatUsd(k.spendThisMonthUsd) +
    (k.monthlyBudgetUsd === null ? "" : ` of ${formatUsd(k.monthlyBudgetUsd)}`);
  return el("span", {
    textContent: text,
    title: `Exact: $${k.spendThisMonthUsd}` +
      (k.monthlyBudgetUsd === null ? " (no budget)" : ` of a $${k.monthlyBudgetUsd} monthly budget`),
  });
}

function cell(label: string, ...content: (Node | string)[]) {
  return el("td", { attrs: { "data-label": label } }, ...content);
}

function renderList(keys: ApiKey[]) {
  $("keys-empty").hidden = keys.length > 0;
  $("key-table").hidden = keys.length === 0;
  $("key-list").replaceChildren(...keys.map((k) => {
    const revoke = el("button", {
      type: "button",
      className: "link danger-text",
      textContent: "Revoke",
      attrs: { "aria-label": `Revoke key ${k.name}` },
    });
    revoke.addEventListener("click", () => confirmRevoke(k, revoke));
    const row = el(
      "tr",
      {},
      el("th", { scope: "row", textContent: k.name }),
      cell("Key", el("code", { textContent: `${k.prefix}…` })),
      cell("Created", when(k.createdAt)),
      cell("Last used", when(k.lastUsedAt)),
      cell("Spend this month", spend(k)),
      cell("", revoke),
    );
    row.dataset.id = k.id;
    return row;
  }));
}

export async function loadKeys() {
  try {
    const { data } = await api.get<{ data: ApiKey[] }>("account/keys");
    renderList(data);
  } catch (e) {
    $("keys-status").textContent = `Could not load your keys: ${(e as Error).message}`;
  }
}

function confirmRevoke(k: ApiKey, button: HTMLButtonElement) {
  const dialog = $<HTMLDialogElement>("revoke-dialog");
  $("revoke-title").textContent = `Revoke “${k.name}”?`;
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "revoke") {
      button.focus();
      return;
    }
    try {
      await api.del(`account/keys/${k.id}`);
      $("keys-status").textContent = `Revoked “${k.name}”. Requests with it are refused from now on.`;
    } catch (e) {
      $("keys-status").textContent = `Could not revoke “${k.name}”: ${(e as Error).message}`;
    }
    await loadKeys();
    $("key-list-title").focus();
  };
  dialog.showModal();
}

/** Signed out: the page forgets the account's keys (list, status, form), the fresh one included. */
export function clearKeys() {
  closeNewKey();
  renderList([]);
  for (const id of ["keys-status", "key-form-error"]) $(id).textContent = "";
  for (const id of ["key-name", "key-budget"]) {
    $<HTMLInputElement>(id).value = "";
    $(id).removeAttribute("aria-invalid");
  }
}

/** Forgets the fresh key: its panel closes and the examples go back to the placeholder. */
export function closeNewKey() {
  freshKey = null;
  $<HTMLInputElement>("new-key-value").value = "";
  $("new-key").hidden = true;
  $("copy-status").textContent = "";
  renderExamples();
}

async function copy(text: string, status: HTMLElement) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied to the clipboard.";
  } catch {
    status.textContent = "Could not copy: select the text and copy it yourself.";
  }
}

async function create(e: SubmitEvent) {
  e.preventDefault();
  const name = $<HTMLInputElement>("key-name");
  const budget = $<HTMLInputElement>("key-budget");
  const error = $("key-form-error");
  const problem = !name.value.trim() ? "Give the key a name, e.g. the app that will use it." : null;
  const budgetText = budget.value.trim().replace(/^\$/, "");
  const budgetIssue = budgetProblem(budgetText);
  name.setAttribute("aria-invalid", String(!!problem));
  budget.setAttribute("aria-invalid", String(!!budgetIssue));
  if (problem || budgetIssue) {
    error.textContent = (problem ?? budgetIssue)!;
    (problem ? name : budget).focus();
    return;
  }
  error.textContent = "";
  const button = $<HTMLButtonElement>("key-create");
  button.disabled = true;
  try {
    const created = await api.post<ApiKey & { key: string }>("account/keys", {
      name: name.value.trim(),
      ...(budgetText ? { monthlyBudgetUsd: Number(budgetText) } : {}),
    });
    freshKey = created.key;
    $("new-key-title").textContent = `Your new key “${created.name}”`;
    $<HTMLInputElement>("new-key-value").value = created.key;
    $("new-key").hidden = false;
    renderExamples();
    name.value = "";
    budget.value = "";
    $<HTMLInputElement>("new-key-value").focus();
    $<HTMLInputElement>("new-key-value").select();
    await loadKeys();
  } catch (err) {
    error.textContent = (err as Error).message;
  } finally {
    button.disabled = false;
  }
}

export function initKeys(theApi: Api, apiBase: string) {
  api = theApi;
  baseUrl = apiBase;
  renderExamples();
  $<HTMLFormElement>("key-form").addEventListener("submit", create);
  $("copy-key").addEventListener("click", () => copy(freshKey ?? "", $("copy-status")));
  $("new-key-done").addEventListener("click", () => {
    closeNewKey();
    $("key-name").focus();
  });
  $("keys-view").addEventListener("click", (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-copy-example]");
    if (button) copy($(button.dataset.copyExample!).textContent ?? "", $("example-status"));
  });
}
