// Shared helpers of the browser tests: a Chromium per test file, fresh signed-up users in their
// own browser contexts, screenshots under .local/test-artifacts/, and polling.

import assert from "node:assert/strict";
import { type Browser, type BrowserContextOptions, chromium, type Page } from "playwright-core";
import { stack } from "../support/stack.ts";

export const ARTIFACTS = new URL("../../.local/test-artifacts/", import.meta.url);
export const TIMEOUT = 30_000;

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}

export async function screenshot(page: Page, name: string) {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname });
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
): Promise<Client> {
  const context = await browser.newContext({
    viewport: { width: 1024, height: 720 },
    colorScheme: "light",
    ...options,
  });
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
  return { page, pageErrors, email, password };
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
