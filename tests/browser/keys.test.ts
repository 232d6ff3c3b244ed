// The API keys page in Chromium against the running stack: create a key (validation first), the
// full key shown once with a copy button and ready-to-paste examples that really run (the shell
// example with curl, the JavaScript one with the openai SDK in Node), the key used from the test
// with fetch (and the header's quota following it live), the key gone once its panel closes or the
// page reloads, the list (prefix, created, last used, spend against budget), revoking after a
// confirmation, and the key refused (401) from then on.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { stack } from "../support/stack.ts";
import { closeDatabase, database, functionsUrl, settled } from "../support/users.ts";
import {
  ARTIFACTS,
  clipboardText,
  eventually,
  focusedId,
  launch,
  noPageErrors,
  screenshot,
  signedUp,
  unlabelledControls,
} from "./helpers.ts";

const KEY = /nx_[A-Za-z0-9_-]{43}/;

function completion(key: string) {
  return fetch(functionsUrl("openai/chat/completions"), {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: "Hello from a key" }] }),
  });
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return {
    ok: out.success,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "API keys page in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const browser = await launch();
    try {
      const client = await signedUp(browser, "web-apikeys", {
        permissions: ["clipboard-read", "clipboard-write"],
      });
      const { page } = client;
      const [{ id: userId }] = await database()`select id from auth.users where email = ${client.email}`;
      const keysOf = () =>
        database()`select id, name, prefix, key_hash, monthly_budget::text as budget, revoked_at
                   from public.api_keys where user_id = ${userId} order by created_at`;

      // The header link opens the page (keyboard), focus goes to its heading.
      await page.getByRole("link", { name: "API keys" }).press("Enter");
      await page.getByRole("heading", { name: "API keys", level: 2 }).waitFor();
      assert.equal(await focusedId(page), "keys-title");
      assert.equal(await page.locator("#app-view").isHidden(), true, "the chat is replaced by the keys page");
      await page.locator("#keys-empty").getByText("No keys yet.").waitFor();

      // Validation: a name is required, a budget must be dollars; nothing is created.
      const name = page.getByLabel("Name", { exact: true });
      const budget = page.getByLabel("Monthly budget in USD (optional)");
      const formError = page.locator("#key-form").getByRole("alert");
      await page.getByRole("button", { name: "Create key" }).click();
      await formError.getByText(/Give the key a name/).waitFor();
      assert.equal(await focusedId(page), "key-name");
      await name.fill("ci-script");
      await budget.fill("five");
      await budget.press("Enter");
      await formError.getByText(/Enter the budget in US dollars/).waitFor();
      assert.equal(await budget.getAttribute("aria-invalid"), "true");
      await budget.fill("0.1234567");
      await budget.press("Enter");
      await formError.getByText(/Enter the budget in US dollars/).waitFor();
      assert.equal((await keysOf()).length, 0, "invalid input creates nothing");

      // Create: the full key, once, focused for copying; it is the key whose hash is stored.
      await budget.fill("5");
      await budget.press("Enter");
      const panel = page.getByRole("region", { name: "Your new key “ci-script”" });
      await panel.waitFor();
      const keyField = page.getByRole("textbox", { name: "Your new API key" });
      const key = await keyField.inputValue();
      assert.match(key, new RegExp(`^${KEY.source}$`));
      assert.equal(await focusedId(page), "new-key-value", "focus moves to the new key");
      assert.equal(await formError.textContent(), "");
      const [row] = await keysOf();
      assert.equal(row.name, "ci-script");
      assert.equal(row.budget, "5");
      assert.equal(row.prefix, key.slice(0, 11));
      assert.equal(
        row.key_hash,
        createHash("sha256").update(key).digest("hex"),
        "the shown key is the real one",
      );

      // Copy puts exactly the key on the clipboard.
      await page.getByRole("button", { name: "Copy key" }).click();
      await page.locator("#copy-status").getByText("Copied to the clipboard.").waitFor();
      assert.equal(await clipboardText(page), key);

      // The examples carry the key and this deployment's base URL, and they run as pasted.
      const base = `${stack().apiUrl}/functions/v1/openai`;
      assert.equal(await page.locator("#example-base").textContent(), base);
      const curlExample = (await page.locator("#example-curl").textContent())!;
      const jsExample = (await page.locator("#example-js").textContent())!;
      assert.ok(curlExample.includes(`export NEXUS_API_KEY="${key}"`), curlExample);
      assert.ok(curlExample.includes(`curl ${base}/chat/completions`), curlExample);
      assert.ok(jsExample.includes(`baseURL: "${base}"`), jsExample);
      await page.getByRole("button", { name: "Copy the curl example" }).click();
      await page.locator("#example-status").getByText("Copied to the clipboard.").waitFor();
      assert.equal(await clipboardText(page), curlExample);

      const quotaText = page.locator("#account-quota");
      await quotaText.getByText("100 / 100 requests left").waitFor();

      const shell = await run("bash", ["-c", curlExample]);
      assert.ok(shell.ok, shell.stderr);
      const viaCurl = JSON.parse(shell.stdout);
      assert.equal(viaCurl.object, "chat.completion", shell.stdout);
      assert.match(viaCurl.choices[0].message.content, /Hello!/);

      await Deno.mkdir(ARTIFACTS, { recursive: true });
      const script = new URL("keys-example.mjs", ARTIFACTS).pathname; // resolves `openai` from the repo
      await Deno.writeTextFile(script, jsExample);
      const node = await run("node", [script], { NEXUS_API_KEY: key });
      assert.ok(node.ok, node.stderr);
      assert.match(node.stdout, /Hello!/, "the openai SDK example printed the answer");
      assert.match(node.stdout, /total_tokens/, "and its usage");

      // The test's own call, with fetch.
      const res = await completion(key);
      assert.equal(res.status, 200, await res.clone().text());
      const body = await res.json();
      assert.match(body.choices[0].message.content, /Hello from a key/);
      assert.ok(Number(body.usage.cost) > 0, "the exact cost is in the usage");

      // Three requests made with the key: the header follows live (user channel), no reload.
      await quotaText.getByText("97 / 100 requests left").waitFor();
      await settled(userId);

      assert.deepEqual(await unlabelledControls(page), [], "every control on the keys page has a name");
      await screenshot(page, "keys-new-key");

      // Closing the panel forgets the key: nowhere in the page any more.
      await page.getByRole("button", { name: "Done, I have copied it" }).click();
      assert.equal(await panel.isHidden(), true);
      assert.ok(!(await page.content()).includes(key), "the key is gone from the page");
      assert.match((await page.locator("#example-curl").textContent())!, /# export NEXUS_API_KEY="nx_…"/);
      assert.equal(await focusedId(page), "key-name");

      // A second key, without a budget; a reload before closing its panel loses it too.
      await name.fill("notebook");
      await page.getByRole("button", { name: "Create key" }).click();
      await page.getByRole("region", { name: "Your new key “notebook”" }).waitFor();
      const second = await keyField.inputValue();
      assert.match(second, KEY);
      await page.reload();
      await page.getByRole("heading", { name: "API keys", level: 2 }).waitFor();
      const rows = page.locator("#key-list tr");
      await rows.nth(1).waitFor();
      const html = await page.content();
      assert.ok(!html.includes(key) && !html.includes(second), "no full key after a reload");
      assert.equal(await page.locator("#new-key").isHidden(), true);

      // The list: newest first, prefix (never the key), created, last used, spend against budget.
      const listed = await rows.evaluateAll((trs) =>
        trs.map((tr) =>
          [...(tr as unknown as { children: { textContent: string }[] }).children].map((c) => c.textContent)
        )
      );
      assert.equal(listed.length, 2);
      assert.equal(listed[0][0], "notebook");
      assert.equal(listed[0][1], `${second.slice(0, 11)}…`);
      assert.equal(listed[0][3], "Never", "the new key was not used yet");
      assert.equal(listed[0][4], "$0.00");
      assert.equal(listed[1][0], "ci-script");
      assert.equal(listed[1][1], `${key.slice(0, 11)}…`);
      assert.notEqual(listed[1][3], "Never", "the used key shows when it was last used");
      assert.match(listed[1][4], / of \$5\.00$/);
      const [{ spend }] = await database()`
        select period_spend::text as spend from public.api_keys where id = ${row.id}`;
      assert.ok(Number(spend) > 0);
      assert.equal(
        await rows.nth(1).locator("td[data-label='Spend this month'] span").getAttribute("title"),
        `Exact: $${spend} of a $5 monthly budget`,
        "the spend shown is the exact spend recorded",
      );

      // Revoke asks first; Cancel (Escape) keeps the key.
      const revoke = page.getByRole("button", { name: "Revoke key ci-script" });
      await revoke.click();
      const dialog = page.getByRole("dialog", { name: "Revoke “ci-script”?" });
      await dialog.waitFor();
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      assert.equal(await rows.count(), 2);
      assert.equal((await completion(key)).status, 200, "still valid after cancelling");
      await screenshot(page, "keys-list");

      await revoke.click();
      await dialog.getByRole("button", { name: "Revoke key" }).click();
      await page.locator("#keys-status").getByText("Revoked “ci-script”.", { exact: false }).waitFor();
      await eventually(async () => (await rows.count()) === 1 ? true : undefined, "the list without it");
      assert.equal(await rows.first().locator("th").textContent(), "notebook");
      assert.equal(await focusedId(page), "key-list-title", "focus lands on the list after revoking");
      const [revoked] = await database()`select revoked_at from public.api_keys where id = ${row.id}`;
      assert.ok(revoked.revoked_at, "revoked in the database");

      const refused = await completion(key);
      assert.equal(refused.status, 401, "a revoked key is refused");
      await refused.body?.cancel();

      // Back to the chat: the composer has focus again.
      await page.getByRole("link", { name: "Back to chat" }).click();
      await page.getByRole("textbox", { name: "Message" }).waitFor();
      assert.equal(await focusedId(page), "prompt");
      assert.equal(await page.locator("#keys-view").isHidden(), true);

      // Phone-sized: the keys page fits without sideways scrolling.
      await page.setViewportSize({ width: 390, height: 780 });
      await page.getByRole("link", { name: "API keys" }).click();
      await rows.first().waitFor();
      const scrollWidth = await page.evaluate(() =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
          .documentElement.scrollWidth
      );
      assert.ok(scrollWidth <= 390, `no horizontal scrolling (${scrollWidth}px)`);
      await screenshot(page, "keys-phone");
      noPageErrors(client);
      await page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});
