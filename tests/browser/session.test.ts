// One tab, several accounts and a changing account, in Chromium: after a sign-out the next account
// sees nothing of the previous one (conversation, members, keys, errors, draft, blocked quota); a
// sign-out while the account loads starts nothing for it; an upgrade mid-session unblocks sending
// and reloads the catalog; a refused token (401) is refreshed once, and a session that cannot be
// refreshed signs out.

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { closeDatabase, database, functionsUrl, newUser, type TestUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";
import {
  catalogLoaded,
  eventually,
  launch,
  realtimeAvailable,
  sendAndWait,
  signedUp,
  TIMEOUT,
} from "./helpers.ts";

const live = await realtimeAvailable();
const opts = { sanitizeResources: false, sanitizeOps: false };

async function call(user: TestUser, method: string, path: string, body?: unknown) {
  const res = await fetch(functionsUrl(path), {
    method,
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} /${path}: ${res.status}`);
  return await res.json();
}

async function setMonthCount(userId: string, n: number) {
  await database()`
    insert into public.request_counters (user_id, period_requests, minute_count, minute_window)
    values (${userId}, ${n}, 0, date_trunc('minute', now()))
    on conflict (user_id) do update set period_requests = ${n},
      period_start = date_trunc('month', now() at time zone 'utc')::date`;
}

async function openPage(browser: Awaited<ReturnType<typeof launch>>): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 720 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(stack().webUrl);
  await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
  return page;
}

async function signIn(page: Page, user: TestUser) {
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("textbox", { name: "Message" }).waitFor({ state: "visible" });
}

Deno.test({
  name: "after a sign-out, the next account in the tab sees nothing of the previous one",
  ...opts,
  fn: async () => {
    const browser = await launch();
    try {
      // A: a conversation, a key, the month's quota used up.
      const a = await newUser("first");
      const b = await newUser("second");
      await call(a, "POST", "chat", {
        messages: [{ role: "user", content: "Secret plans of the first" }],
        model: "gpt-4o-mini",
        stream: false,
      });
      await call(a, "POST", "account/keys", { name: "first-key" });
      await setMonthCount(a.id, 100);
      await database()`select public.set_user_tier(${b.id}, 'enterprise')`;

      const page = await openPage(browser);
      await signIn(page, a);
      await page.locator("#conversation-list").getByText("Secret plans of the first").click();
      await page.locator("#messages li.assistant").first().waitFor();
      await page.getByRole("button", { name: "Share" }).click();
      await page.getByRole("list", { name: "Members" }).getByText("You (owner)").waitFor();
      await page.locator("#quota-banner").getByText("Monthly quota used up.").waitFor();
      await page.getByRole("link", { name: "API keys" }).click();
      await page.locator("#key-list").getByText("first-key").waitFor();
      await page.getByRole("link", { name: "Back to chat" }).click();
      // (a draft typed while blocked: the composer is aria-disabled, so set it as typing would)
      await page.locator("#prompt").evaluate((e) => ((e as unknown as { value: string }).value = "a draft"));
      await page.locator("#chat-error").evaluate((e) => (e.textContent = "An error of the first"));

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
      // B's keys never arrive: the table must be empty of A's on its own.
      await page.route("**/functions/v1/account/keys", () => {});
      await signIn(page, b);
      await page.locator("#account-quota").getByText("Unlimited requests").waitFor();
      await catalogLoaded(page);
      assert.equal(await page.locator("#chat-title").textContent(), "New conversation");
      assert.equal(await page.locator("#messages li").count(), 0);
      assert.equal(await page.locator("#conversation-list li").count(), 0);
      assert.equal(await page.locator("#share-panel").isHidden(), true, "no share panel");
      assert.equal(await page.locator("#member-list li").count(), 0, "no member list");
      assert.equal(await page.locator("#chat-error").textContent(), "");
      assert.equal(await page.getByRole("textbox", { name: "Message" }).inputValue(), "", "no draft");
      assert.equal(await page.locator("#quota-banner").isHidden(), true, "not blocked");
      assert.notEqual(
        await page.evaluate(() =>
          (globalThis as unknown as {
            document: { body: { dataset: { quota?: string } } };
          }).document.body.dataset.quota
        ),
        "blocked",
      );
      const reply = await sendAndWait(page, "Hello from the second");
      assert.match((await reply.locator(".content").textContent()) ?? "", /Hello from the second/);
      await page.getByRole("link", { name: "API keys" }).click();
      await page.getByRole("heading", { name: "API keys", level: 2 }).waitFor();
      assert.equal(await page.locator("#key-list tr").count(), 0, "none of the first account's keys");
      await page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});

Deno.test({
  name: "signing out while the account loads starts no live updates for it",
  ignore: !live,
  ...opts,
  fn: async () => {
    const browser = await launch();
    try {
      const a = await newUser("quick-out");
      const page = await openPage(browser);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let asked!: () => void;
      const accountAsked = new Promise<void>((r) => (asked = r));
      await page.route("**/functions/v1/account", async (route) => {
        asked();
        await held;
        await route.continue();
      });
      await page.getByLabel("Email").fill(a.email);
      await page.getByLabel("Password").fill(a.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await accountAsked;
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
      release();
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal(await page.locator("#connection-text").textContent(), "Offline", "no channel started");
      assert.equal(await page.locator("#account-quota").textContent(), "", "no account shown");
      await page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});

Deno.test({
  name: "an upgrade mid-session unblocks sending and reloads the model catalog",
  ...opts,
  fn: async () => {
    const browser = await launch();
    try {
      const client = await signedUp(browser, "upgrade");
      const { page } = client;
      const [{ id }] = await database()`select id from auth.users where email = ${client.email}`;
      await setMonthCount(id, 100);
      await page.reload();
      await page.locator("#quota-banner").getByText("Monthly quota used up.").waitFor();
      await catalogLoaded(page);
      assert.equal(await page.getByRole("button", { name: "Send" }).isDisabled(), true);
      const enabled = () => page.locator("#model option:not([disabled])").count();
      const enabledOnFree = await enabled();
      assert.ok(await page.locator("#model option", { hasText: "not in your plan" }).count() > 0);

      // Enterprise now: the next response says so (any request; here the keys page's).
      await database()`select public.set_user_tier(${id}, 'enterprise')`;
      await page.getByRole("link", { name: "API keys" }).click();
      await page.locator("#account-tier").getByText("enterprise").waitFor();
      await page.getByRole("link", { name: "Back to chat" }).click();
      await page.locator("#account-quota").getByText("Unlimited requests").waitFor();
      assert.equal(await page.locator("#quota-banner").isHidden(), true);
      await eventually(
        async () => await enabled() > enabledOnFree || undefined,
        "the catalog reloaded for the new plan (more models enabled)",
      );
      const reply = await sendAndWait(page, "Unblocked at last");
      assert.match((await reply.locator(".content").textContent()) ?? "", /Unblocked at last/);
      await page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});

Deno.test({
  name: "a 401 refreshes the session once and retries; a session that cannot be refreshed signs out",
  ...opts,
  fn: async () => {
    const browser = await launch();
    try {
      const { page } = await signedUp(browser, "refused");
      // The next request is refused once: the page refreshes its session and the retry goes through.
      let refused = 0;
      await page.route("**/functions/v1/chat", async (route) => {
        if (refused++ === 0) {
          await route.fulfill({
            status: 401,
            contentType: "application/json",
            body: JSON.stringify({ error: { code: "unauthorized", message: "JWT expired" } }),
          });
        } else await route.continue();
      });
      const refreshed = page.waitForRequest((r) =>
        r.url().includes("/auth/v1/token?grant_type=refresh_token")
      );
      const reply = await sendAndWait(page, "Still me?");
      await refreshed;
      assert.match((await reply.locator(".content").textContent()) ?? "", /Still me\?/);
      assert.equal(refused, 2, "one refusal, one retry");

      // Revoked: every request refused and no refresh possible: back to the sign-in screen.
      await page.route("**/functions/v1/**", (route) =>
        route.fulfill({
          status: 401,
          contentType: "application/json",
          body: JSON.stringify({ error: { code: "unauthorized", message: "Session revoked" } }),
        }));
      await page.route("**/auth/v1/token**", (route) =>
        route.fulfill({
          status: 400,
          contentType: "application/json",
          body: JSON.stringify({ error: "invalid_grant", error_description: "Invalid Refresh Token" }),
        }));
      await page.getByRole("textbox", { name: "Message" }).fill("Anyone?");
      await page.getByRole("textbox", { name: "Message" }).press("Enter");
      await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
      assert.equal(await page.locator("#chat-view").isHidden(), true);
      await page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});
