// The conversation list by page, in Chromium: 60 conversations show as the 50 most recent with
// "Show more", which brings the other 10 (and goes away).

import assert from "node:assert/strict";
import { closeDatabase, database } from "../support/users.ts";
import { launch, noPageErrors, signedUp } from "./helpers.ts";

Deno.test({
  name: "the conversation list shows 50 at a time, with Show more",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const browser = await launch();
    try {
      const client = await signedUp(browser, "many-chats");
      const { page } = client;
      const [{ id }] = await database()`select id from auth.users where email = ${client.email}`;
      await database()`
        insert into public.conversations (owner_id, title, updated_at)
        select ${id}, 'Chat ' || n, now() - n * interval '1 minute' from generate_series(1, 60) as n`;
      await page.reload();
      const items = page.locator("#conversation-list li");
      await items.nth(49).waitFor();
      assert.equal(await items.count(), 50);
      const more = page.getByRole("button", { name: "Show more" });
      await more.click();
      await items.nth(59).waitFor();
      assert.equal(await items.count(), 60);
      const titles = await items.allTextContents();
      assert.equal(new Set(titles).size, 60, "each once");
      assert.equal(await more.isHidden(), true, "all are listed");
      noPageErrors(client);
      await page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});
