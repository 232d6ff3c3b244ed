// Shared helpers of the browser tests: a Chromium per test file, fresh signed-up users in their
// own browser contexts, screenshots under .local/test-artifacts/, and polling.

import assert from "node:assert/strict";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Locator,
  type Page,
} from "playwright-core";
import { stack } from "../support/stack.ts";

export const ARTIFACTS = new URL("../../.local/test-artifacts/", import.meta.url);
export const TIMEOUT = 30_000;

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}

/**
 * A picture of the page once it has settled: finite animations and transitions (the sidebar
 * sliding in, the quota meter filling) are awaited; endless ones (typing dots, the streaming
 * cursor, the reconnecting pulse) are frozen by Playwright, so the same state gives the same picture.
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}) {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.evaluate(() => {
    const { document } = globalThis as unknown as InPageAnimations;
    const finite = document.getAnimations()
      .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
      .map((a) => a.finished.catch(() => {}));
    return Promise.race([Promise.all(finite), new Promise((r) => setTimeout(r, 2_000))]);
  });
  await page.screenshot({
    path: new URL(`${name}.png`, ARTIFACTS).pathname,
    animations: "disabled",
    fullPage: options.fullPage ?? false,
  });
}

/** The part of the DOM's animation API the screenshot helper uses (tests are checked without DOM types). */
interface InPageAnimations {
  document: {
    getAnimations(): {
      effect: { getComputedTiming(): { iterations?: number } } | null;
      finished: Promise<unknown>;
    }[];
  };
}

export interface Client {
  page: Page;
  pageErrors: Error[];
  email: string;
  password: string;
}

/** A fresh user signed up through the page, in a context of its own (no shared session). */
export async function signedUp(
  browser: Browser,
  prefix: string,
  options: BrowserContextOptions = {},
  /** Runs on the new context before the page opens (e.g. to route its websocket). */
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<Client> {
  const context = await browser.newContext({
    viewport: { width: 1024, height: 720 },
    colorScheme: "light",
    ...options,
  });
  await prepare?.(context);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors: Error[] = [];
  page.on("pageerror", (e) => pageErrors.push(e));
  await page.goto(stack().webUrl);
  await page.getByRole("heading", { name: "Sign in to chat" }).waitFor({ state: "visible" });
  const email = `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("textbox", { name: "Message" }).waitFor({ state: "visible" });
  await page.locator("#account-quota").getByText(/requests left|Unlimited/).waitFor();
  await catalogLoaded(page);
  return { page, pageErrors, email, password };
}

/**
 * Waits until the page has loaded the model catalog, its last request on opening: a test that
 * changes the account behind the page's back must not race a response still on its way (every
 * response's headers carry the quota, and the page believes them).
 */
export async function catalogLoaded(page: Page) {
  await page.locator("#model option").first().waitFor({ state: "attached" });
}

/** Types into the composer, presses Enter, and waits for the reply to finish streaming. */
export async function sendAndWait(page: Page, text: string) {
  const log = page.getByRole("log", { name: "Messages" });
  const before = await log.locator('li.assistant[aria-busy="false"]').count();
  const prompt = page.getByRole("textbox", { name: "Message" });
  await prompt.fill(text);
  await prompt.press("Enter");
  await log.locator('li.assistant[aria-busy="false"]').nth(before).waitFor();
  return log.locator("li.assistant").nth(before);
}

export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function noPageErrors(client: Client) {
  assert.deepEqual(client.pageErrors.map(String), []);
}

/** Whether the stack serves Supabase Realtime (the websocket endpoint answers an upgrade). */
export async function realtimeAvailable(): Promise<boolean> {
  try {
    const url = `${stack().apiUrl}/realtime/v1/websocket?apikey=${stack().anonKey}&vsn=1.0.0`;
    const ws = new WebSocket(url.replace(/^http/, "ws"));
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        ws.close();
        resolve(false);
      }, 3_000);
      ws.onopen = () => {
        clearTimeout(timer);
        ws.close();
        resolve(true);
      };
      ws.onerror = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
  } catch {
    return false;
  }
}

/** The id of the element that has focus. */
export function focusedId(page: Page): Promise<string> {
  return page.evaluate(() =>
    (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id
  );
}

/** What the page put on the clipboard (the context needs the clipboard-read permission). */
export function clipboardText(page: Page): Promise<string> {
  return page.evaluate(() =>
    (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator
      .clipboard
      .readText()
  );
}

/** Relative luminance (0 black … 1 white) of the page's background. */
export async function backgroundLuminance(page: Page): Promise<number> {
  const color = await page.evaluate(() => {
    const w = globalThis as unknown as {
      document: { body: unknown };
      getComputedStyle(e: unknown): { backgroundColor: string };
    };
    return w.getComputedStyle(w.document.body).backgroundColor;
  });
  const [r, g, b] = color.match(/\d+/g)!.map(Number).map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Waits until the element's text matches; a timeout names the text it had instead. */
export async function textMatches(locator: Locator, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  let last = "";
  try {
    return await eventually(
      async () => {
        last = (await locator.textContent()) ?? "";
        return pattern.test(last) ? last : undefined;
      },
      `${pattern}`,
      timeoutMs,
    );
  } catch {
    throw new Error(`expected text matching ${pattern}, found ${JSON.stringify(last)}`);
  }
}

/**
 * The visible controls that have no accessible name (aria-label, aria-labelledby, a <label>, or
 * their own text): each is described by its tag and id so a failure says which.
 */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    interface Control {
      tagName: string;
      id: string;
      labels?: { textContent: string | null }[] | null;
      textContent: string | null;
      getAttribute(name: string): string | null;
      checkVisibility(): boolean;
    }
    const { document } = globalThis as unknown as {
      document: {
        querySelectorAll(s: string): Iterable<Control>;
        getElementById(id: string): { textContent: string | null } | null;
      };
    };
    const named = (c: Control) =>
      !!(c.getAttribute("aria-label")?.trim() ||
        (c.getAttribute("aria-labelledby") ?? "").split(/\s+/).some((id) =>
          document.getElementById(id)?.textContent?.trim()
        ) ||
        [...(c.labels ?? [])].some((l) => l.textContent?.trim()) ||
        (c.tagName !== "INPUT" && c.tagName !== "SELECT" && c.tagName !== "TEXTAREA" &&
          c.textContent?.trim()));
    return [...document.querySelectorAll("button, input, select, textarea, a[href], [role=switch]")]
      .filter((c) => c.checkVisibility() && !named(c))
      .map((c) => `${c.tagName.toLowerCase()}#${c.id}`);
  });
}

/** Accepts, on this page, the invitation to the conversation with this title (which then opens). */
export async function acceptInvitation(page: Page, title: string) {
  await page.getByRole("region", { name: "Invitations" })
    .getByRole("button", { name: `Accept the invitation to ${title}` }).click();
  await page.locator("#chat-title").getByText(title).waitFor();
}
