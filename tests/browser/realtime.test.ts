// Shared conversations live, with two browser contexts: the owner invites a member by email (who accepts), both
// see each other's presence, the typing line, and a reply appearing for both without a reload.
//
// These need Supabase Realtime on the stack (/realtime/v1/websocket): probed at load time, the test
// is ignored on a stack without it.

import assert from "node:assert/strict";
import { closeDatabase } from "../support/users.ts";
import {
  acceptInvitation,
  launch,
  noPageErrors,
  realtimeAvailable,
  screenshot,
  sendAndWait,
  signedUp,
} from "./helpers.ts";

const available = await realtimeAvailable();

Deno.test({
  name: "shared conversation live in two browsers (presence, typing, live replies)",
  ignore: !available, // no Realtime on this stack
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const browser = await launch();
    try {
      const ana = await signedUp(browser, "ana");
      const ben = await signedUp(browser, "ben");
      await ana.page.locator("#connection").getByText("Live").waitFor();
      await sendAndWait(ana.page, "Let us plan the trip");

      // Share by email; Ben is invited live and accepts (the conversation opens for him).
      await ana.page.getByRole("button", { name: "Share" }).click();
      await ana.page.getByRole("textbox", { name: "Invite a member" }).fill(ben.email);
      await ana.page.getByRole("button", { name: "Invite", exact: true }).click();
      await ana.page.locator("#share-status").getByText(`Invitation sent to ${ben.email}`).waitFor();
      await acceptInvitation(ben.page, "Let us plan the trip");
      await ben.page.locator("#conversation-list button.open").getByText("Let us plan the trip").waitFor();
      await ben.page.locator("#messages li.assistant").first().waitFor();

      // Presence: both avatars on both screens.
      for (const c of [ana, ben]) await c.page.locator("#presence li").nth(1).waitFor();

      // Typing: Ben types, Ana's polite live region says so.
      await ben.page.getByRole("textbox", { name: "Message" }).pressSequentially("How about");
      const typing = ana.page.locator("#typing");
      assert.equal(await typing.getAttribute("aria-live"), "polite");
      await typing.getByText(/is typing…$/).waitFor();
      await screenshot(ana.page, "shared-typing");

      // Ben sends; the reply appears live for Ana, once.
      await ben.page.getByRole("textbox", { name: "Message" }).fill("How about Lisbon?");
      await ben.page.getByRole("textbox", { name: "Message" }).press("Enter");
      await ben.page.locator('#messages li.assistant:not([aria-busy="true"])').nth(1).waitFor(); // history replies carry no aria-busy
      await ana.page.locator("#messages li.user.other").getByText("How about Lisbon?").waitFor();
      await ana.page.locator("#messages li.assistant").nth(1).waitFor();
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await ana.page.locator("#messages li.assistant").count(), 2, "no duplicates");
      assert.equal(
        await ben.page.locator("#messages li.assistant").count(),
        2,
        "own streamed reply not duplicated",
      );
      assert.equal(await ben.page.locator("#messages li.user").count(), 2, "own message not duplicated");
      await typing.getByText("").waitFor().catch(() => {});
      await screenshot(ana.page, "shared-live-reply");
      noPageErrors(ana);
      noPageErrors(ben);
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});
