// The web client in a real browser (Debian's Chromium driven by playwright-core) against the
// running local stack: sign up, a streamed reply with its cost (checked against the database),
// sign out and in again, a wrong password. Screenshots of the main screens go to
// .local/test-artifacts/ for a human to look at.

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { stack } from "../support/stack.ts";
import { closeDatabase, database } from "../support/users.ts";
import { backgroundLuminance, eventually, screenshot } from "./helpers.ts";
import { bundleSize, JS_BUDGET_GZIP_BYTES } from "../../web/build.ts";

const TIMEOUT = 30_000;

function freshCredentials(prefix: string) {
  return {
    email: `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.test`,
    password: `pw-${crypto.randomUUID()}`,
  };
}

/** Opens the client in a fresh browser context (no stored session) and waits for the auth view. */
async function openClient(
  browser: Browser,
  onScript?: (url: string) => void,
): Promise<{ page: Page; pageErrors: Error[] }> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 720 }, colorScheme: "light" });
  const page = await context.newPage();
  if (onScript) page.on("request", (r) => r.resourceType() === "script" && onScript(r.url()));
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors: Error[] = [];
  page.on("pageerror", (e) => pageErrors.push(e));
  await page.goto(stack().webUrl);
  await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
  return { page, pageErrors };
}

async function fillCredentials(page: Page, creds: { email: string; password: string }) {
  await page.getByLabel("Email").fill(creds.email);
  await page.getByLabel("Password").fill(creds.password);
}

async function expectChatView(page: Page, email: string) {
  await page.getByRole("textbox", { name: "Message" }).waitFor({ state: "visible" });
  assert.equal(await page.locator("#auth-view").isHidden(), true, "the auth view is hidden once signed in");
  assert.equal(await page.locator("#account-email").textContent(), email);
  await page.getByRole("button", { name: "Sign out" }).waitFor({ state: "visible" });
}

interface Snapshot {
  text: string;
  busy: string | null;
  sendDisabled: boolean;
}

/**
 * The browser globals the in-page functions below use. This file is type-checked with Deno's libs,
 * not the DOM's (which would leak into `deno check` of the whole tree), so they are typed here.
 */
interface InPage {
  document: {
    getElementById(id: string): InPageElement;
    querySelector(selector: string): InPageElement | null;
  };
  MutationObserver: new (callback: () => void) => { observe(target: InPageElement, options: object): void };
  __snapshots: Snapshot[];
}
interface InPageElement {
  textContent: string | null;
  disabled?: boolean;
  getAttribute(name: string): string | null;
  querySelector(selector: string): InPageElement | null;
}

Deno.test("the shipped JavaScript is at most 100 KB gzipped, supabase-js included", async () => {
  const { gzipBytes } = await bundleSize();
  assert.ok(gzipBytes <= JS_BUDGET_GZIP_BYTES, `app.js is ${gzipBytes} bytes gzipped`);
  // supabase-js is bundled (no CDN script): its Auth and Realtime clients are in the file.
  const bundle = await Deno.readTextFile(new URL("../../web/dist/app.js", import.meta.url));
  assert.match(bundle, /GoTrueClient/, "Auth client bundled");
  assert.match(bundle, /phx_join/, "Realtime client bundled");
});

Deno.test({
  name: "web client in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
      ],
    });
    try {
      await t.step("sign up, send Hello!, watch the reply stream in with its cost, as stored", async () => {
        const scripts: string[] = [];
        const { page, pageErrors } = await openClient(browser, (url) => scripts.push(url));
        // The page runs only its own bundle and its configuration: nothing from elsewhere.
        assert.deepEqual(scripts.map((u) => new URL(u).pathname).sort(), ["/app.js", "/config.js"]);
        assert.ok(scripts.every((u) => u.startsWith(stack().webUrl)), scripts.join(", "));
        await screenshot(page, "auth-view", { fullPage: true });
        const creds = freshCredentials("web");
        await fillCredentials(page, creds);
        await page.getByRole("button", { name: "Create account" }).click();
        await expectChatView(page, creds.email);

        const [user] = await database()`select id from auth.users where email = ${creds.email}`;
        assert.ok(user, "signing up in the page created the user");

        const log = page.getByRole("log", { name: "Messages" });
        assert.equal(await log.count(), 1, "the message list is a role=log");
        assert.ok(await backgroundLuminance(page) > 0.8, "a light background in light mode");

        // Record every state of the assistant message as the DOM changes.
        await page.evaluate(() => {
          const w = globalThis as unknown as InPage;
          w.__snapshots = [];
          const list = w.document.getElementById("messages");
          new w.MutationObserver(() => {
            const li = list.querySelector("li.assistant");
            if (!li) return;
            w.__snapshots.push({
              text: li.querySelector(".content")?.textContent ?? "",
              busy: li.getAttribute("aria-busy"),
              sendDisabled: !!w.document.getElementById("send").disabled,
            });
          }).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
        });

        const prompt = page.getByRole("textbox", { name: "Message" });
        await prompt.fill("Hello!");
        await prompt.press("Enter");

        const userMessage = log.locator("li.user");
        await userMessage.waitFor();
        assert.equal(await userMessage.textContent(), "Hello!");
        assert.equal(await prompt.inputValue(), "", "the composer is cleared on send");

        const reply = log.locator("li.assistant");
        await reply.waitFor();
        await log.locator('li.assistant[aria-busy="false"]').waitFor();
        const final = (await reply.locator(".content").textContent()) ?? "";
        assert.match(final, /simulated/i);
        assert.match(final, /Hello!/);
        assert.equal(await page.getByRole("button", { name: "Send" }).isEnabled(), true);

        const snapshots = await page.evaluate(() => (globalThis as unknown as InPage).__snapshots);
        // The first text appeared while the message was still busy (streaming, not all at once at
        // the end), with Send disabled: the DOM's own record, read in the same instant (a poll
        // from the test could miss a short stream on a busy machine).
        const first = snapshots.find((s) => s.text !== "");
        assert.deepEqual(
          first && { busy: first.busy, sendDisabled: first.sendDisabled },
          { busy: "true", sendDisabled: true },
          "text arrives while the message is aria-busy and Send is disabled",
        );
        const partial = [
          ...new Set(
            snapshots.filter((s) => s.busy === "true" && s.text !== "" && s.text !== final).map((s) =>
              s.text
            ),
          ),
        ];
        assert.ok(
          partial.length >= 2,
          `at least two different partial texts while streaming, saw ${JSON.stringify(partial)}`,
        );
        let previous = "";
        for (const text of partial) {
          assert.ok(
            text.startsWith(previous) && text.length > previous.length,
            `the text only grows: ${JSON.stringify(previous)} → ${JSON.stringify(text)}`,
          );
          assert.ok(final.startsWith(text), "each partial text is a prefix of the final reply");
          previous = text;
        }
        assert.ok(
          !snapshots.some((s) => s.busy === "false" && s.text !== final),
          "not marked done before the reply is complete",
        );

        // The router chose the model (announced in the stream); the UI names it under the reply.
        const model = await reply.getAttribute("data-model");
        assert.match(model ?? "", /^[a-z0-9][a-z0-9.-]+$/, "a catalog model id");
        const meta = (await reply.locator(".meta").textContent()) ?? "";
        assert.ok(meta.startsWith(`${model} `), `the model under the reply: ${JSON.stringify(meta)}`);
        assert.match(meta, /simulated/, "the UI says the reply is simulated");
        const shown = /\$(\d+\.\d+)/.exec(meta);
        assert.ok(shown, `a cost under the reply: ${JSON.stringify(meta)}`);

        // Metering runs after the response: poll for the usage record.
        const record = await eventually(async () => {
          const [row] = await database()`
            select cost::text as cost, model from public.usage_records where user_id = ${user.id}`;
          return row;
        }, "the usage record");
        assert.equal(record.model, model, "billed as the model shown");
        assert.equal(shown[1], record.cost, "the cost shown is exactly the cost recorded");

        await page.locator("#account-quota").getByText(/\d+ \/ \d+ requests left/).waitFor();
        assert.equal(await page.locator("#account-tier").textContent(), "free");
        assert.equal(await page.locator("#chat-error").textContent(), "", "no chat error");
        await screenshot(page, "chat-with-reply", { fullPage: true });
        assert.deepEqual(pageErrors.map(String), []);
        await page.context().close();
      });

      await t.step("sign out, a wrong password is refused in the alert, the right one signs in", async () => {
        const { page, pageErrors } = await openClient(browser);
        const creds = freshCredentials("web-relogin");
        await fillCredentials(page, creds);
        await page.getByRole("button", { name: "Create account" }).click();
        await expectChatView(page, creds.email);

        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
        assert.equal(
          await page.locator("#chat-view").isHidden(),
          true,
          "the chat is hidden after signing out",
        );
        assert.equal(await page.locator("#account").isHidden(), true);

        const alert = page.locator("#auth-form").getByRole("alert");
        await fillCredentials(page, { email: creds.email, password: "not-the-password" });
        await page.getByRole("button", { name: "Sign in" }).click();
        await alert.getByText(/invalid login credentials/i).waitFor();
        assert.equal(await page.locator("#chat-view").isHidden(), true, "a wrong password does not sign in");
        await screenshot(page, "auth-wrong-password", { fullPage: true });

        await fillCredentials(page, creds);
        await page.getByLabel("Password").press("Enter");
        await expectChatView(page, creds.email);
        assert.equal(
          await page.locator("#auth-error").textContent(),
          "",
          "the error is cleared on a successful sign-in",
        );

        // The session survives a reload (supabase-js keeps it in localStorage).
        await page.reload();
        await expectChatView(page, creds.email);
        assert.deepEqual(pageErrors.map(String), []);
        await page.context().close();
      });
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});
