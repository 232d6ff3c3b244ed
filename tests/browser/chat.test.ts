// The full chat interface in Chromium against the running stack: the router's reason and cost on
// a streamed reply, Stop, Regenerate, the model dropdown with the router off (persisted), the
// conversation list across reloads (rename, delete), keyboard-only use with validation, the quota
// warnings and blocked state, the rate-limit countdown, and phone/dark screenshots.

import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { closeDatabase, database } from "../support/users.ts";
import { stack } from "../support/stack.ts";
import {
  backgroundLuminance,
  catalogLoaded,
  eventually,
  focusedId,
  launch,
  noPageErrors,
  screenshot,
  sendAndWait,
  signedUp,
  textMatches,
  unlabelledControls,
} from "./helpers.ts";

async function userId(email: string): Promise<string> {
  const [row] = await database()`select id from auth.users where email = ${email}`;
  return row.id;
}

/** Sets the user's counters as if they had made that many requests this month / minute. */
async function setCounters(email: string, counters: { month?: number; minute?: number }) {
  // A minute count only holds until the window rolls over: leave the step 20 s of it at least.
  const second = new Date().getUTCSeconds();
  if (counters.minute !== undefined && second > 40) {
    await new Promise((r) => setTimeout(r, (61 - second) * 1000));
  }
  const id = await userId(email);
  await database()`
    insert into public.request_counters (user_id, period_requests, minute_count, minute_window)
    values (${id}, ${counters.month ?? 0}, ${counters.minute ?? 0}, date_trunc('minute', now()))
    on conflict (user_id) do update set
      period_requests = coalesce(${counters.month ?? null}::int, public.request_counters.period_requests),
      minute_count = coalesce(${counters.minute ?? null}::int, public.request_counters.minute_count),
      minute_window = date_trunc('minute', now()),
      period_start = date_trunc('month', now() at time zone 'utc')::date`;
}

Deno.test({
  name: "chat interface in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const browser: Browser = await launch();
    try {
      await t.step(
        "a reply shows the router's choice and reason and its cost; Stop; Regenerate",
        async () => {
          const client = await signedUp(browser, "web-chat");
          const { page } = client;
          const reply = await sendAndWait(page, "Explain what a hash map is.");
          const routing = (await reply.locator(".routing").textContent()) ?? "";
          const model = await reply.getAttribute("data-model");
          assert.match(
            routing,
            new RegExp(`^Smart router chose ${model!.replace(/\./g, "\\.")} — .+`),
            routing,
          );
          assert.match((await reply.locator(".meta").textContent()) ?? "", /\$\d+\.\d+ · \d+ in \/ \d+ out/);
          await page.locator("#account-cost").getByText(/^Session \$\d/).waitFor();
          // The conversation appears in the sidebar, current.
          const current = page.locator('#conversation-list button[aria-current="true"]');
          await current.waitFor();
          assert.match((await current.textContent()) ?? "", /Explain what a hash map is/);

          // Stop: click it as soon as the first text arrives.
          const prompt = page.getByRole("textbox", { name: "Message" });
          await prompt.fill("Tell me a long story about the sea.");
          await prompt.press("Enter");
          const stopped = await page.waitForFunction(
            () => {
              // deno-lint-ignore no-explicit-any
              const d = (globalThis as any).document;
              const items = d.querySelectorAll("#messages li.assistant");
              const li = items[items.length - 1];
              if (items.length < 2 || !li?.querySelector(".content")?.textContent) return false;
              d.getElementById("stop").click();
              return li.querySelector(".content").textContent;
            },
            undefined,
            { polling: "raf" },
          );
          const partial = await stopped.jsonValue() as string;
          const last = page.locator("#messages li.assistant").last();
          await page.locator('#messages li.assistant[aria-busy="false"]').nth(1).waitFor();
          assert.match((await last.locator(".meta").textContent()) ?? "", /stopped/);
          assert.ok(((await last.locator(".content").textContent()) ?? "").length >= partial.length);
          assert.equal(await page.locator("#stop").isHidden(), true, "Stop goes away");
          assert.equal(await page.getByRole("button", { name: "Send" }).isEnabled(), true);
          assert.equal(await focusedId(page), "prompt", "focus returns to the composer");

          // Regenerate replaces the last answer with a new one.
          await page.getByRole("button", { name: "Regenerate" }).click();
          await eventually(async () =>
            (await last.getAttribute("aria-busy")) === null ||
              await page.locator('#messages li.assistant[aria-busy="false"]').count() === 2 &&
                (await page.locator("#messages li.assistant").count()) === 2
              ? true
              : undefined, "the regenerated reply");
          const regenerated = page.locator("#messages li.assistant").last();
          assert.doesNotMatch((await regenerated.locator(".meta").textContent()) ?? "", /stopped/);
          assert.equal(
            await page.locator("#messages li.assistant").count(),
            2,
            "the stopped answer was replaced",
          );
          await screenshot(page, "chat-streamed-stopped-regenerated");
          noPageErrors(client);
          await page.context().close();
        },
      );

      await t.step(
        "router off: pick a model (tier-limited ones disabled), persisted; the list survives a reload; rename; delete",
        async () => {
          const client = await signedUp(browser, "web-models");
          const { page } = client;
          const toggle = page.getByRole("switch", { name: "Smart router" });
          assert.equal(await toggle.isChecked(), true);
          assert.equal(
            await page.locator("#model-label").isHidden(),
            true,
            "no dropdown while the router decides",
          );
          await toggle.uncheck();
          const select = page.locator("#model");
          await select.waitFor({ state: "visible" });
          const options = await select.locator("option").evaluateAll((os) =>
            os.map((o) => ({
              value: (o as unknown as { value: string }).value,
              text: o.textContent ?? "",
              disabled: (o as unknown as { disabled: boolean }).disabled,
            }))
          );
          const enabled = options.filter((o) => !o.disabled);
          assert.ok(enabled.length >= 2, "a free user can use several models");
          assert.ok(
            options.some((o) => o.disabled && /not in your plan/.test(o.text)),
            "models above the tier are shown, disabled",
          );
          assert.match(enabled[0].text, /\$[\d.]+ \/ \$[\d.]+ per 1M/, "the price per 1M in/out");
          const pick = enabled[1].value;
          await select.selectOption(pick);
          await eventually(async () => {
            const [row] = await database()`
            select smart_router, default_model from public.profiles where id = ${await userId(client.email)}`;
            return row.smart_router === false && row.default_model === pick ? true : undefined;
          }, "the preference saved");
          const reply = await sendAndWait(page, "Hi there");
          assert.equal(await reply.getAttribute("data-model"), pick, "answered by the chosen model");
          assert.match(
            (await reply.locator(".routing").textContent()) ?? "",
            new RegExp(`^You chose ${pick.replace(/\./g, "\\.")}`),
          );
          await screenshot(page, "chat-model-picker");

          // Reload: preferences and the conversation (list, history) are still there.
          await page.reload();
          await page.getByRole("textbox", { name: "Message" }).waitFor();
          await page.locator("#conversation-list li").first().waitFor();
          assert.equal(await page.getByRole("switch", { name: "Smart router" }).isChecked(), false);
          await eventually(
            async () => (await page.locator("#model").inputValue()) === pick ? true : undefined,
            "the saved model chosen in the dropdown once the catalog loaded",
          );
          await page.locator("#messages li.assistant").first().waitFor();
          assert.match((await page.locator("#messages li.user").first().textContent()) ?? "", /Hi there/);
          assert.match(
            (await page.locator("#messages li.assistant .meta").first().textContent()) ?? "",
            new RegExp(`^${pick.replace(/\./g, "\\.")} · \\$`),
          );

          // Rename inline, then delete.
          await page.getByRole("button", { name: /^Rename / }).first().click();
          const title = page.getByRole("textbox", { name: "New title" });
          await title.fill("Renamed chat");
          await title.press("Enter");
          await page.locator("#conversation-list").getByText("Renamed chat").waitFor();
          await page.reload();
          await page.locator("#conversation-list").getByText("Renamed chat").waitFor();
          // The last open conversation is reopened after a reload.
          await page.locator("#chat-title").getByText("Renamed chat").waitFor();
          page.once("dialog", (d) => d.accept());
          await page.getByRole("button", { name: "Delete Renamed chat" }).click();
          await page.locator("#sidebar-empty").waitFor({ state: "visible" });
          assert.equal(await page.locator("#messages li").count(), 0);
          noPageErrors(client);
          await page.context().close();
        },
      );

      await t.step(
        "the router switch flipped while the catalog is still loading stays flipped, and is saved",
        async () => {
          const client = await signedUp(browser, "web-early-switch");
          const { page } = client;
          // The catalog is held back; the account arrives as usual.
          let release!: () => void;
          const held = new Promise<void>((r) => (release = r));
          await page.route("**/functions/v1/models", async (route) => {
            await held;
            await route.continue();
          });
          await page.reload();
          await page.locator("#account-quota").getByText(/requests left/).waitFor();
          const toggle = page.getByRole("switch", { name: "Smart router" });
          assert.equal(await toggle.isChecked(), true);
          assert.equal(await page.locator("#model option").count(), 0, "no catalog yet");
          await toggle.uncheck();
          const id = await userId(client.email);
          await eventually(async () => {
            const [row] = await database()`select smart_router from public.profiles where id = ${id}`;
            return row.smart_router === false ? true : undefined;
          }, "the switch saved");
          release();
          await catalogLoaded(page);
          await page.locator("#model").waitFor({ state: "visible" });
          assert.equal(await toggle.isChecked(), false, "the catalog's arrival did not flip it back");
          assert.notEqual(await page.locator("#model").inputValue(), "", "a model is chosen");
          assert.equal(await page.locator("#chat-error").textContent(), "");
          noPageErrors(client);
          await page.context().close();
        },
      );

      await t.step("keyboard only: validation, Shift+Enter, IME Enter, Enter sends", async () => {
        const client = await signedUp(browser, "web-keys");
        const { page } = client;
        const focused = () => focusedId(page);
        assert.equal(await focused(), "prompt", "the composer has focus after signing in");
        await page.keyboard.press("Enter");
        await page.locator("#chat-error").getByText("Type a message first.").waitFor();
        await page.keyboard.type("line one");
        await page.keyboard.press("Shift+Enter");
        await page.keyboard.type("line two");
        assert.equal(await page.locator("#prompt").inputValue(), "line one\nline two");
        assert.equal(await page.locator("#messages li").count(), 0, "Shift+Enter does not send");
        // Enter that confirms an IME composition does not send.
        await page.locator("#prompt").dispatchEvent("keydown", {
          key: "Enter",
          isComposing: true,
          bubbles: true,
        });
        assert.equal(await page.locator("#messages li").count(), 0, "Enter during composition does not send");
        // Too long: the limit is shown and nothing is sent.
        await page.locator("#prompt").fill("x".repeat(100_001));
        assert.equal(await page.locator("#prompt-count").textContent(), "100,001 / 100,000");
        await page.keyboard.press("Enter");
        await page.locator("#chat-error").getByText(/the limit is 100,000/).waitFor();
        assert.equal(await page.locator("#messages li").count(), 0);
        await page.locator("#prompt").fill("");
        await page.keyboard.type("Hello from the keyboard");
        await page.keyboard.press("Enter");
        await page.locator('#messages li.assistant[aria-busy="false"]').waitFor();
        assert.equal(await focused(), "prompt", "focus is back in the composer");
        assert.equal(await page.locator("#chat-error").textContent(), "");
        // Every control can be reached with Tab: walk the page and collect what receives focus.
        const reached = new Set<string>();
        for (let i = 0; i < 40; i++) {
          await page.keyboard.press("Tab");
          reached.add(
            await page.evaluate(() => {
              const a = (globalThis as unknown as {
                document: {
                  activeElement: {
                    id: string;
                    getAttribute(n: string): string | null;
                    textContent: string | null;
                  };
                };
              }).document.activeElement;
              return a.id || a.getAttribute("aria-label") || a.textContent || "";
            }),
          );
        }
        assert.deepEqual(await unlabelledControls(page), [], "every control has a name");
        await page.getByRole("button", { name: "Share" }).click();
        assert.deepEqual(await unlabelledControls(page), [], "the share panel's controls too");
        await page.getByRole("button", { name: "Share" }).click();
        for (
          const id of [
            "new-conversation",
            "smart-router",
            "routing-pref",
            "prompt",
            "send",
            "sign-out",
            "share-toggle",
          ]
        ) {
          assert.ok(reached.has(id), `${id} is reachable by Tab (reached ${[...reached].join(", ")})`);
        }
        noPageErrors(client);
        await page.context().close();
      });

      await t.step(
        "quota: warnings at 80 % and 95 %, a 402 takes the message back, blocked state at 100 %",
        async () => {
          const client = await signedUp(browser, "web-quota");
          const { page } = client;
          const banner = page.locator("#quota-banner");
          await setCounters(client.email, { month: 85 });
          await page.reload();
          await page.locator("#account-quota").getByText("15 / 100 requests left").waitFor();
          await catalogLoaded(page);
          assert.equal(await page.locator("#quota-meter").getAttribute("data-level"), "warn");
          assert.match((await banner.textContent()) ?? "", /85% of this month's 100 requests used/);
          await setCounters(client.email, { month: 96 });
          await page.reload();
          await page.locator("#account-quota").getByText("4 / 100 requests left").waitFor();
          await catalogLoaded(page); // nothing in flight when the quota runs out below
          assert.equal(await page.locator("#quota-meter").getAttribute("data-level"), "critical");
          assert.match((await banner.textContent()) ?? "", /Almost out/);

          // The quota runs out behind the page's back: the 402 blocks and keeps the text.
          await setCounters(client.email, { month: 100 });
          const prompt = page.getByRole("textbox", { name: "Message" });
          await prompt.fill("One more please");
          await prompt.press("Enter");
          await textMatches(page.locator("#chat-error"), /monthly quota is used up/);
          await banner.getByText("Monthly quota used up.").waitFor();
          assert.equal(await prompt.inputValue(), "One more please", "the message is kept to send later");
          assert.equal(await page.locator("#messages li").count(), 0, "nothing was sent");
          assert.equal(await page.getByRole("button", { name: "Send" }).isDisabled(), true);
          assert.match(
            (await banner.textContent()) ?? "",
            /Upgrade to Pro .* or wait until your quota resets on /,
          );
          assert.equal(await page.locator("#quota-meter").getAttribute("data-level"), "blocked");

          // And after a reload the blocked state is there from the start.
          await page.reload();
          await banner.getByText("Monthly quota used up.").waitFor();
          assert.equal(await page.getByRole("button", { name: "Send" }).isDisabled(), true);
          await screenshot(page, "quota-blocked");

          // Using up the quota through the page: the last request is answered, and the page is
          // blocked from that answer on (its response says 0 left), without a reload.
          await setCounters(client.email, { month: 99 });
          await page.reload();
          await page.locator("#account-quota").getByText("1 / 100 requests left").waitFor();
          await catalogLoaded(page);
          assert.equal(await banner.getByText("Monthly quota used up.").count(), 0);
          const lastReply = await sendAndWait(page, "My last request this month");
          assert.match((await lastReply.locator(".content").textContent()) ?? "", /My last request/);
          await page.locator("#account-quota").getByText("0 / 100 requests left").waitFor();
          await banner.getByText("Monthly quota used up.").waitFor();
          assert.equal(await page.locator("#quota-meter").getAttribute("data-level"), "blocked");
          assert.equal(await page.getByRole("button", { name: "Send" }).isDisabled(), true);
          assert.equal(await page.locator("#regenerate").isHidden(), true, "no regenerating when blocked");
          noPageErrors(client);
          await page.context().close();
        },
      );

      await t.step("the tier badge names the plan; Enterprise is unlimited", async () => {
        const client = await signedUp(browser, "web-tier");
        const { page } = client;
        const badge = page.locator("#account-tier");
        assert.equal(await badge.innerText(), "Free");
        assert.equal(await badge.getAttribute("aria-label"), "Free plan");
        const id = await userId(client.email);
        for (
          const [tier, shown, quota] of [
            ["pro", "Pro", "10,000 / 10,000 requests left"],
            ["team", "Team", "100,000 / 100,000 requests left"],
            ["enterprise", "Enterprise", "Unlimited requests"],
          ]
        ) {
          await database()`select public.set_user_tier(${id}, ${tier})`;
          await page.reload();
          await page.locator("#account-quota").getByText(quota).waitFor();
          assert.equal(await badge.innerText(), shown);
          assert.equal(await badge.getAttribute("aria-label"), `${shown} plan`);
        }
        assert.equal(await page.locator("#quota-meter").isHidden(), true, "no meter without a cap");
        // The avatar: the initial of the name, or the profile's picture when it has one.
        assert.equal(await page.locator("#avatar").textContent(), "W");
        const picture = `${stack().webUrl}/favicon.svg`;
        await database()`update public.profiles set avatar_url = ${picture} where id = ${id}`;
        await page.reload();
        await page.locator(`#avatar img[src="${picture}"]`).waitFor();
        assert.equal(await page.locator("#account-email").textContent(), client.email);
        await screenshot(page, "tier-enterprise");
        noPageErrors(client);
        await page.context().close();
      });

      await t.step("hostile text in a message and its reply stays text", async () => {
        const client = await signedUp(browser, "web-hostile");
        const { page } = client;
        const hostile = `<img src=x onerror="document.title='owned'"> [x](javascript:alert(1))`;
        const reply = await sendAndWait(page, hostile);
        const user = page.locator("#messages li.user").first();
        assert.equal(await user.textContent(), hostile, "my message is shown as typed");
        assert.match((await reply.locator(".content").textContent()) ?? "", /<img src=x/, "quoted as text");
        assert.equal(await page.locator("#messages img").count(), 0, "no element from the text");
        assert.equal(await page.locator('#messages a[href^="javascript"]').count(), 0);
        assert.equal(await page.title(), "NEXUS AI");
        noPageErrors(client);
        await page.context().close();
      });

      await t.step("rate limit: a 429 is announced once and counts down from Retry-After", async () => {
        const client = await signedUp(browser, "web-rate");
        const { page } = client;
        await setCounters(client.email, { minute: 20 });
        const prompt = page.getByRole("textbox", { name: "Message" });
        await prompt.fill("Are you there?");
        await prompt.press("Enter");
        const error = page.locator("#chat-error"); // role=alert: read out on each change
        const countdown = page.locator("#cooldown");
        await error.getByText(/^Rate limit reached.*Sending is paused for \d+ s\.$/).waitFor();
        const announced = await error.textContent();
        await countdown.getByText(/^You can send again in \d+ s\.$/).waitFor();
        assert.equal(await countdown.getAttribute("aria-live"), null, "the countdown is not a live region");
        assert.equal(await countdown.getAttribute("role"), null);
        const first = Number(/in (\d+) s/.exec((await countdown.textContent())!)![1]);
        assert.ok(first >= 1 && first <= 60, `Retry-After seconds: ${first}`);
        assert.equal(await page.getByRole("button", { name: "Send" }).isDisabled(), true);
        assert.equal(await prompt.inputValue(), "Are you there?");
        if (first > 2) {
          await eventually(
            async () => {
              const now = Number(/in (\d+) s/.exec((await countdown.textContent()) ?? "")?.[1] ?? NaN);
              return now < first ? true : undefined;
            },
            "the countdown to tick",
            5_000,
          );
          assert.equal(await error.textContent(), announced, "the alert was not rewritten by the ticks");
        }
        await screenshot(page, "rate-limited");
        noPageErrors(client);
        await page.context().close();
      });

      await t.step("phone-sized and dark: the layout fits and the sidebar opens from the menu", async () => {
        const client = await signedUp(browser, "web-phone", {
          viewport: { width: 390, height: 780 },
          colorScheme: "dark",
          isMobile: true,
          hasTouch: true,
        });
        const { page } = client;
        await sendAndWait(page, "Show me a code sample:\n```js\nconst x = 1; // one\n```");
        const scrollWidth = await page.evaluate(() =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
            .documentElement.scrollWidth
        );
        assert.ok(scrollWidth <= 390, `no horizontal scrolling (${scrollWidth}px)`);
        // The system's dark scheme is followed (the other contexts here are light).
        assert.ok(await backgroundLuminance(page) < 0.2, "a dark background in dark mode");
        await screenshot(page, "phone-dark-chat");
        const menu = page.getByRole("button", { name: "Conversations" });
        await menu.click();
        assert.equal(await menu.getAttribute("aria-expanded"), "true");
        await page.getByRole("button", { name: "+ New conversation" }).waitFor({ state: "visible" });
        await screenshot(page, "phone-dark-sidebar");
        noPageErrors(client);
        await page.context().close();
      });
    } finally {
      await browser.close();
      await closeDatabase();
    }
  },
});
