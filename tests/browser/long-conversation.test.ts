// A conversation of 1,000 messages (seeded straight into the database) in Chromium: it opens with
// the newest page (200 messages) and the newest in view, off-screen messages skip rendering
// (content-visibility), "Load earlier messages" brings the earlier pages one by one without moving
// what is in view, up to the first message; it scrolls to the first and back to the last, a code
// block in the history is highlighted and copies its code, and a new reply streams in without
// touching anything but the streaming message (a MutationObserver over the whole page), sending
// only the recent turns.

import assert from "node:assert/strict";
import { closeDatabase, database } from "../support/users.ts";
import { clipboardText, eventually, launch, noPageErrors, screenshot, signedUp } from "./helpers.ts";

const MESSAGES = 1_000;
const PAGE = 200; // the client's page of history
const CODE = 'def greet(name):\n    return "hi " + name  # 42';
const WITH_CODE = " with code:\n\n```python\n" + CODE + "\n```";
const WITH_MARKDOWN = " with **bold** and `code`";

/** Inserts the conversation and its messages as the chat pipeline would have stored them. */
async function seedConversation(ownerId: string): Promise<string> {
  const [{ id }] = await database()`
    insert into public.conversations (owner_id, title) values (${ownerId}, 'A thousand messages')
    returning id`;
  await database()`
    insert into public.messages (conversation_id, user_id, role, content, model, cost, input_tokens,
                                 output_tokens, created_at)
    select ${id}, ${ownerId},
           case when n % 2 = 1 then 'user' else 'assistant' end,
           case when n % 2 = 1 then 'Question ' || n
                when n % 100 = 0 then 'Answer ' || n || ${WITH_CODE}
                else 'Answer ' || n || ${WITH_MARKDOWN} end,
           case when n % 2 = 0 then 'gpt-4o-mini' end,
           case when n % 2 = 0 then 0.000123 end,
           case when n % 2 = 0 then 10 end,
           case when n % 2 = 0 then 20 end,
           now() - interval '1 day' + n * interval '1 second'
    from generate_series(1, ${MESSAGES}) as n`;
  return id;
}

interface Rect {
  top: number;
  bottom: number;
}

/** The browser globals the in-page functions use (tests are type-checked without DOM types). */
interface InPage {
  document: {
    getElementById(id: string): InPageElement;
    body: InPageElement;
    querySelector(selector: string): InPageElement | null;
  };
  MutationObserver: new (callback: (records: { target: unknown }[]) => void) => {
    observe(target: InPageElement, options: object): void;
    disconnect(): void;
  };
  requestAnimationFrame(fn: () => void): void;
  __mutations: { streaming: boolean; textLength: number; inside: boolean; where: string }[];
  __stopObserving(): void;
}
interface InPageElement {
  id: string;
  className: string;
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
  children: { length: number };
  textContent: string | null;
  parentElement: InPageElement | null;
  contains(node: unknown): boolean;
  getBoundingClientRect(): Rect;
  checkVisibility(options: object): boolean;
  querySelector(selector: string): InPageElement | null;
  getAttribute(name: string): string | null;
}

Deno.test({
  name: "a conversation of 1,000 messages in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const browser = await launch();
    try {
      const client = await signedUp(browser, "web-long", {
        permissions: ["clipboard-read", "clipboard-write"],
      });
      const { page } = client;
      const [{ id: userId }] = await database()`select id from auth.users where email = ${client.email}`;
      const conversationId = await seedConversation(userId);

      // It appears in the list (a reload loads it) and opens, with its newest page.
      await page.reload();
      const pages: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes(`/conversations/${conversationId}/messages`)) {
          pages.push(new URL(r.url()).search);
        }
      });
      await page.locator("#conversation-list").getByText("A thousand messages").click();
      const log = page.getByRole("log", { name: "Messages" });
      const items = log.locator(":scope > li");
      await items.nth(PAGE - 1).waitFor({ state: "attached" });
      assert.equal(await items.count(), PAGE, "the newest page is in the log");
      assert.deepEqual(pages, [`?limit=${PAGE}`]);
      assert.equal(await items.first().locator(".content").textContent(), `Question ${MESSAGES - PAGE + 1}`);
      assert.match((await items.last().locator(".content").textContent())!, /^Answer 1000 with code:/);
      assert.match((await items.last().locator(".meta").textContent())!, /^gpt-4o-mini · \$0\.000123/);
      const earlier = page.getByRole("button", { name: "Load earlier messages" });
      assert.equal(await earlier.isVisible(), true, "older messages remain");

      /** Where a message is relative to the visible part of the list. */
      const placement = (index: number) =>
        page.evaluate((i) => {
          const { document } = globalThis as unknown as InPage;
          const list = document.getElementById("messages");
          const li = document.querySelector(`#messages > li:nth-child(${i + 1})`)!;
          const box = list.getBoundingClientRect();
          const r = li.getBoundingClientRect();
          return {
            inView: r.bottom > box.top && r.top < box.bottom,
            // false: its contents are skipped by content-visibility (not rendered while off-screen)
            rendered: li.querySelector(".content")!.checkVisibility({ contentVisibilityAuto: true }),
            atEnd: list.scrollHeight - list.scrollTop - list.clientHeight < 2,
            atStart: list.scrollTop === 0,
          };
        }, index);

      // Opened at the end: the newest message in view, the oldest not rendered at all.
      await eventually(async () => (await placement(PAGE - 1)).atEnd ? true : undefined, "the end");
      assert.deepEqual(await placement(PAGE - 1), {
        inView: true,
        rendered: true,
        atEnd: true,
        atStart: false,
      });
      assert.deepEqual(
        (({ inView, rendered }) => ({ inView, rendered }))(await placement(0)),
        { inView: false, rendered: false },
        "off-screen messages skip rendering",
      );
      await screenshot(page, "long-conversation-end");

      const scrollList = (to: "top" | "bottom") =>
        page.evaluate((where) => {
          const w = globalThis as unknown as InPage;
          const list = w.document.getElementById("messages");
          // Sizes settle as messages render, so scroll again on the next frames.
          return new Promise<void>((resolve) => {
            let frames = 0;
            const step = () => {
              list.scrollTop = where === "top" ? 0 : list.scrollHeight;
              if (++frames < 5) w.requestAnimationFrame(step);
              else resolve();
            };
            step();
          });
        }, to);

      /** The message at the top of the list's visible part: its text and its distance from the top. */
      const topInView = () =>
        page.evaluate(() => {
          const { document } = globalThis as unknown as InPage;
          const list = document.getElementById("messages");
          const box = list.getBoundingClientRect();
          const all = list as unknown as { children: ArrayLike<InPageElement> };
          for (const li of Array.from(all.children)) {
            const r = li.getBoundingClientRect();
            if (r.bottom > box.top) return { text: li.textContent, offset: Math.round(r.top - box.top) };
          }
          return null;
        });

      // Up to the top of the page, then the earlier pages one by one: each goes above, and what was
      // in view stays where it was.
      let loaded = PAGE;
      while (loaded < MESSAGES) {
        await scrollList("top");
        const before = await topInView();
        await earlier.click();
        loaded += PAGE;
        await items.nth(loaded - 1).waitFor({ state: "attached" });
        assert.equal(await items.count(), loaded);
        await page.evaluate(() =>
          new Promise((r) => (globalThis as unknown as InPage).requestAnimationFrame(() => r(null)))
        );
        const after = await topInView();
        assert.equal(after?.text, before?.text, "the same message at the top of the view");
        assert.ok(
          Math.abs(after!.offset - before!.offset) < 40,
          `not moved: ${before?.offset} → ${after?.offset}`,
        );
      }
      assert.equal(await earlier.isHidden(), true, "no more earlier messages");
      assert.equal(pages.length, MESSAGES / PAGE);
      assert.equal(await items.first().locator(".content").textContent(), "Question 1");

      // To the top, and the first message is there and rendered; then back to the end.
      await scrollList("top");
      assert.deepEqual(
        (({ inView, rendered, atStart }) => ({ inView, rendered, atStart }))(await placement(0)),
        { inView: true, rendered: true, atStart: true },
      );
      assert.equal((await placement(MESSAGES - 1)).rendered, false, "the end is skipped while at the top");
      await scrollList("bottom");
      assert.deepEqual(
        (({ inView, atEnd }) => ({ inView, atEnd }))(await placement(MESSAGES - 1)),
        { inView: true, atEnd: true },
      );

      // The code block of the last answer is highlighted and its Copy button copies the code.
      const block = items.last().locator(".code-block");
      assert.ok(await block.locator(".tok-k").count() >= 2, "keywords highlighted (def, return)");
      assert.equal(await block.locator("code").textContent(), CODE);
      await block.getByRole("button", { name: "Copy code" }).click();
      await block.getByRole("button", { name: "Copied" }).waitFor();
      assert.equal(await clipboardText(page), CODE);
      await block.getByRole("button", { name: "Copy code" }).waitFor(); // the label comes back

      // Watch every change to the page while the next reply streams.
      await page.evaluate(() => {
        const w = globalThis as unknown as InPage;
        w.__mutations = [];
        const describe = (node: unknown) => {
          let e = node as InPageElement | null;
          while (e && !e.id && !e.className) e = e.parentElement;
          return e ? (e.id ? `#${e.id}` : `.${e.className}`) : "?";
        };
        const observer = new w.MutationObserver((records) => {
          // The streaming message, at the time the changes are delivered.
          const li = w.document.querySelector('#messages > li.assistant[aria-busy="true"]');
          const textLength = li?.querySelector(".content")?.textContent?.length ?? 0;
          for (const r of records) {
            w.__mutations.push({
              streaming: li !== null,
              textLength,
              inside: li !== null && li.contains(r.target),
              where: describe(r.target),
            });
          }
        });
        observer.observe(w.document.body, {
          subtree: true,
          childList: true,
          characterData: true,
          attributes: true,
        });
        w.__stopObserving = () => observer.disconnect();
      });
      const sent = page.waitForRequest((r) =>
        r.url().endsWith("/functions/v1/chat") && r.method() === "POST"
      );
      const prompt = page.getByRole("textbox", { name: "Message" });
      await prompt.fill("One more question");
      await prompt.press("Enter");
      const request = await sent;
      await log.locator(`:scope > li:nth-child(${MESSAGES + 2})[aria-busy="false"]`).waitFor();
      const mutations = await page.evaluate(() => {
        const w = globalThis as unknown as InPage;
        w.__stopObserving();
        return w.__mutations;
      });

      // While tokens arrived (a streaming message with text), every change was inside it.
      const duringTokens = mutations.filter((m) => m.streaming && m.textLength > 0);
      const lengths = new Set(duringTokens.map((m) => m.textLength));
      assert.ok(lengths.size >= 3, `the reply grew in several steps while observed (${lengths.size})`);
      const outside = duringTokens.filter((m) => !m.inside);
      assert.deepEqual(outside, [], "nothing outside the streaming message changed while tokens arrived");

      // The new turns are there, nothing else was re-rendered or lost.
      assert.equal(await items.count(), MESSAGES + 2);
      assert.equal(await items.nth(MESSAGES).textContent(), "One more question");
      assert.match((await items.last().locator(".content").textContent())!, /One more question/);
      assert.equal((await placement(MESSAGES + 1)).inView, true, "the new reply is in view");

      // Only the recent turns went with the message (POST /chat takes at most 500).
      const body = request.postDataJSON() as {
        messages: { role: string; content: string }[];
        conversationId: string;
      };
      assert.equal(body.conversationId, conversationId);
      assert.ok(body.messages.length > 1 && body.messages.length <= 40, `${body.messages.length} turns sent`);
      assert.equal(body.messages[0].role, "user", "the window starts with a question");
      assert.deepEqual(body.messages.at(-1), { role: "user", content: "One more question" });
      assert.deepEqual(body.messages.at(-2), {
        role: "assistant",
        content: (await database()`
        select content from public.messages where conversation_id = ${conversationId}
        and content like 'Answer 1000 %'`)[0].content,
      }, "the latest turns, in order");
      await screenshot(page, "long-conversation-new-reply");
      noPageErrors(client);
      await page.context().close();
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});
