// The hosted sign-up path in a real browser: with email confirmations on (as on every hosted
// Supabase project by default), "Create account" in the web client leaves the user signed out
// with "Check <email> for a confirmation link", signing in is refused until then, and the link
// from the email (read from the stack's mailbox) brings the browser back to the client signed in,
// at the chat. The same link a second time comes back with Auth's error, which the sign-in form
// shows. Runs against a stack of its own started with NEXUS_AUTH_CONFIRMATIONS=true.

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type StackProcess, startStack } from "../../scripts/lib/stack-process.ts";
import { launch, screenshot, textMatches, TIMEOUT } from "./helpers.ts";

// Beside the test stack's ports and the integration tests' own stacks (+30…+35).
const BASE_PORT = Number(Deno.env.get("NEXUS_TEST_API_PORT") ?? "25431") + 36;
const PORTS = { api: String(BASE_PORT), db: String(BASE_PORT + 1), web: String(BASE_PORT + 2) };

Deno.test({
  name: "email confirmations: create an account, follow the emailed link, land signed in at the chat",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const stack: StackProcess = await startStack({
      name: "confirm-browser-test",
      ports: PORTS,
      env: { NEXUS_AUTH_CONFIRMATIONS: "true" },
    });
    const browser = await launch();
    try {
      const { apiUrl, webUrl } = stack.info;
      const open = async (url: string): Promise<{ page: Page; pageErrors: Error[] }> => {
        const context = await browser.newContext({
          viewport: { width: 1024, height: 720 },
          colorScheme: "light",
        });
        const page = await context.newPage();
        page.setDefaultTimeout(TIMEOUT);
        const pageErrors: Error[] = [];
        page.on("pageerror", (e) => pageErrors.push(e));
        await page.goto(url);
        return { page, pageErrors };
      };
      const email = `confirm-${crypto.randomUUID().slice(0, 8)}@example.test`;
      const password = `pw-${crypto.randomUUID()}`;

      // Create the account: no session, the client says where the link went.
      const { page, pageErrors } = await open(webUrl);
      await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Create account" }).click();
      const authError = page.locator("#auth-error");
      await textMatches(authError, /^Check .+ for a confirmation link, then sign in\.$/);
      assert.equal(await authError.textContent(), `Check ${email} for a confirmation link, then sign in.`);
      assert.equal(await page.locator("#auth-view").isVisible(), true, "still signed out");
      await screenshot(page, "email-confirmation-sent");

      // Signing in before confirming is refused, with Auth's message.
      await page.getByRole("button", { name: "Sign in" }).click();
      await textMatches(authError, /^Email not confirmed$/);

      // The email, as the stack's mailbox caught it.
      const res = await fetch(`${apiUrl}/__mailbox?email=${encodeURIComponent(email)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      const { messages } = await res.json();
      assert.equal(messages.length, 1);
      const link: string = messages[0].actionLink;
      assert.ok(link.startsWith(`${apiUrl}/auth/v1/verify?token=`), link);
      assert.ok(link.endsWith(`&redirect_to=${webUrl}/`), "back to the page that signed up");

      // Following it in the same tab (as a click in a mail client would open it): back at the
      // client, signed in, at the chat, and the tokens gone from the address bar.
      await page.goto(link);
      await page.getByRole("textbox", { name: "Message" }).waitFor({ state: "visible" });
      assert.equal(await page.locator("#auth-view").isHidden(), true);
      await textMatches(page.locator("#account-email"), new RegExp(`^${email.replaceAll(".", "\\.")}$`));
      await page.locator("#account-quota").getByText(/requests left|Unlimited/).waitFor();
      assert.ok(!page.url().includes("access_token"), page.url());
      assert.ok(page.url().startsWith(`${webUrl}/`), page.url());
      await screenshot(page, "email-confirmation-signed-in");
      assert.deepEqual(pageErrors.map(String), []);

      // The same link again, in a browser that is not signed in: the sign-in form says why.
      const second = await open(link);
      await second.page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
      await textMatches(second.page.locator("#auth-error"), /^Email link is invalid or has expired$/);
      assert.ok(
        !second.page.url().includes("#"),
        `the error is taken out of the address: ${second.page.url()}`,
      );
      // The account is confirmed: the password works there now.
      await second.page.getByLabel("Email").fill(email);
      await second.page.getByLabel("Password").fill(password);
      await second.page.getByRole("button", { name: "Sign in" }).click();
      await second.page.getByRole("textbox", { name: "Message" }).waitFor({ state: "visible" });
      assert.deepEqual(second.pageErrors.map(String), []);
    } finally {
      await browser.close();
      await stack.stop();
    }
  },
});
