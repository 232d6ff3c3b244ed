// Sending at the edges, in Chromium: no sending while a conversation's history loads; a send
// stopped by opening another conversation leaves that one alone; a request refused before its
// stream (any 4xx) takes the message back; a stream cut off without [DONE] shows as interrupted;
// a reply finishing does not take focus from the share panel; Regenerate answers a question left
// unanswered, and a failed Regenerate puts the previous answer back.

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { closeDatabase } from "../support/users.ts";
import { eventually, focusedId, launch, noPageErrors, sendAndWait, signedUp } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const CHAT = "**/functions/v1/chat";
type ChatBody = {
  messages: { role: string; content: string }[];
  conversationId?: string;
  regenerate?: boolean;
};

function sse(...events: unknown[]) {
  return events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("");
}

const nextChat = (page: Page) =>
  page.waitForRequest((r) => r.url().endsWith("/functions/v1/chat") && r.method() === "POST");

/** A test on a newly signed-up user's page, in a browser of its own; it must end without page errors. */
function onPage(prefix: string, test: (page: Page) => Promise<void>) {
  return async () => {
    const browser = await launch();
    try {
      const client = await signedUp(browser, prefix);
      await test(client.page);
      noPageErrors(client);
      await client.page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  };
}

Deno.test({
  name: "sending waits for the conversation's history, and goes with it",
  ...opts,
  fn: onPage("wait-history", async (page) => {
    await sendAndWait(page, "First question");
    await page.getByRole("button", { name: "+ New conversation" }).click();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route("**/conversations/*/messages?*", async (route) => {
      await held;
      await route.continue();
    });
    const sends: string[] = [];
    page.on("request", (r) => r.url().endsWith("/functions/v1/chat") && sends.push(r.url()));
    await page.locator("#conversation-list button.open").first().click();
    const send = page.getByRole("button", { name: "Send" });
    await page.getByRole("textbox", { name: "Message" }).fill("Second question");
    assert.equal(await send.isDisabled(), true, "no sending while the history loads");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(sends, [], "nothing sent");
    const sent = nextChat(page);
    release();
    await page.locator("#messages li.assistant").first().waitFor();
    assert.equal(await send.isEnabled(), true);
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    const body = (await sent).postDataJSON() as ChatBody;
    assert.deepEqual(body.messages.map((m) => m.role), ["user", "assistant", "user"], "with its history");
    await page.locator('#messages li.assistant[aria-busy="false"]').nth(1).waitFor();
    assert.equal(await page.locator("#messages li").count(), 4, "the reply was not wiped");
  }),
});

Deno.test({
  name: "leaving a conversation whose history is still loading leaves sending possible",
  ...opts,
  fn: onPage("leave-loading", async (page) => {
    await sendAndWait(page, "First question");
    await page.getByRole("button", { name: "+ New conversation" }).click();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route("**/conversations/*/messages?*", async (route) => {
      await held;
      await route.continue();
    });
    await page.locator("#conversation-list button.open").first().click();
    const send = page.getByRole("button", { name: "Send" });
    await page.getByRole("textbox", { name: "Message" }).fill("A new topic");
    assert.equal(await send.isDisabled(), true, "no sending while the history loads");
    // before it arrives, a new conversation instead
    await page.getByRole("button", { name: "+ New conversation" }).click();
    await page.getByRole("textbox", { name: "Message" }).fill("A new topic");
    await eventually(async () => (await send.isEnabled()) || undefined, "sending to the new conversation");
    release();
    const sent = nextChat(page);
    await send.click();
    const body = (await sent).postDataJSON() as ChatBody;
    assert.equal(body.conversationId, undefined, "to a new conversation");
    assert.deepEqual(body.messages.map((m) => m.content), ["A new topic"]);
    await page.locator('#messages li.assistant[aria-busy="false"]').waitFor();
  }),
});

Deno.test({
  name: "opening another conversation mid-stream leaves the new one alone",
  ...opts,
  fn: onPage("switch-mid", async (page) => {
    await sendAndWait(page, "Hello");
    const prompt = page.getByRole("textbox", { name: "Message" });
    await prompt.fill("Tell me a long story about the sea.");
    await prompt.press("Enter");
    await page.waitForFunction(() => {
      // deno-lint-ignore no-explicit-any
      const li = (globalThis as any).document.querySelectorAll("#messages li.assistant")[1];
      return !!li?.querySelector(".content")?.textContent;
    });
    await page.getByRole("button", { name: "+ New conversation" }).click();
    await page.locator("#stop").waitFor({ state: "hidden" });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.locator("#messages li").count(), 0);
    assert.equal(await page.locator("#regenerate").isHidden(), true, "nothing to regenerate here");
    const sent = nextChat(page);
    await sendAndWait(page, "A fresh start");
    const body = (await sent).postDataJSON() as ChatBody;
    assert.deepEqual(body.messages, [{ role: "user", content: "A fresh start" }]);
    assert.equal(body.conversationId, undefined);
  }),
});

Deno.test({
  name:
    "a request refused before its stream (400, 413) takes the message back; a cut-off stream is interrupted",
  ...opts,
  fn: onPage("refused-4xx", async (page) => {
    const prompt = page.getByRole("textbox", { name: "Message" });
    for (
      const [status, message] of [[413, "Request body too large"], [400, "messages: invalid"]] as const
    ) {
      await page.route(CHAT, (route) =>
        route.fulfill({
          status,
          contentType: "application/json",
          body: JSON.stringify({ error: { code: "invalid_request", message } }),
        }), { times: 1 });
      await prompt.fill(`Refused with ${status}`);
      await prompt.press("Enter");
      await page.locator("#chat-error").getByText(message).waitFor();
      assert.equal(await page.locator("#messages li").count(), 0, `${status}: no bubble left`);
      assert.equal(await prompt.inputValue(), `Refused with ${status}`, `${status}: the text is back`);
      assert.equal(await page.getByRole("button", { name: "Send" }).isEnabled(), true);
    }
    // A stream that stops without [DONE] or an error: what came shows, marked interrupted.
    await page.route(CHAT, (route) =>
      route.fulfill({
        status: 200,
        contentType: "text/event-stream",
        body: sse({ messageId: crypto.randomUUID(), model: "gpt-4o-mini" }, { delta: "Half an ans" }),
      }), { times: 1 });
    await prompt.fill("Cut me off");
    await prompt.press("Enter");
    const reply = page.locator('#messages li.assistant[aria-busy="false"]');
    await reply.waitFor();
    assert.match((await reply.locator(".meta").textContent()) ?? "", /interrupted/);
    assert.equal(await reply.locator(".content").textContent(), "Half an ans");
  }),
});

Deno.test({
  name: "a reply finishing leaves focus in the share panel",
  ...opts,
  fn: onPage("focus-kept", async (page) => {
    await sendAndWait(page, "Hello");
    const prompt = page.getByRole("textbox", { name: "Message" });
    await prompt.fill("Tell me a long story about the sea.");
    await prompt.press("Enter");
    await page.getByRole("button", { name: "Share" }).click();
    assert.equal(await focusedId(page), "invite-email");
    await page.locator('#messages li.assistant[aria-busy="false"]').nth(1).waitFor();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await focusedId(page), "invite-email", "focus stays where the user put it");
  }),
});

Deno.test({
  name: "Regenerate answers a question left unanswered; a failed Regenerate puts the answer back",
  ...opts,
  fn: onPage("regen-edge", async (page) => {
    const first = await sendAndWait(page, "What is a monad?");
    const answer = await first.locator(".content").textContent();
    const regenerate = page.getByRole("button", { name: "Regenerate" });

    // Regenerate refused (rate limit): the previous answer is back, still regenerable.
    await page.route(CHAT, (route) =>
      route.fulfill({
        status: 429,
        headers: { "retry-after": "1", "access-control-expose-headers": "retry-after" },
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "rate_limited", message: "Rate limit reached" } }),
      }), { times: 1 });
    await regenerate.click();
    await page.locator("#chat-error").getByText(/Rate limit reached/).waitFor();
    assert.equal(await page.locator("#messages li.assistant").count(), 1, "the answer is back");
    assert.equal(await page.locator("#messages li.assistant .content").textContent(), answer);
    await eventually(
      async () => await page.getByRole("button", { name: "Send" }).isEnabled() || undefined,
      "the 1 s cooldown to end",
    );
    await regenerate.waitFor({ state: "visible" });

    // A question whose answer fails once admitted (an error event): it stays, Regenerate answers it.
    await page.route(CHAT, (route) =>
      route.fulfill({
        status: 200,
        contentType: "text/event-stream",
        body: sse({ error: { code: "provider_error", message: "The provider failed" } }),
      }), { times: 1 });
    const prompt = page.getByRole("textbox", { name: "Message" });
    await prompt.fill("And a functor?");
    await prompt.press("Enter");
    await page.locator("#chat-error").getByText("The provider failed").waitFor();
    assert.equal(await page.locator("#messages li.user").count(), 2, "the question stays");
    await regenerate.waitFor({ state: "visible" });
    const sent = nextChat(page);
    await regenerate.click();
    const body = (await sent).postDataJSON() as ChatBody;
    assert.equal(body.regenerate, true);
    assert.deepEqual(body.messages.at(-1), { role: "user", content: "And a functor?" });
    await page.locator('#messages li.assistant[aria-busy="false"]').nth(1).waitFor();
  }),
});
