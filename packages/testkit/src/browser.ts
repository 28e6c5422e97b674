import { chromium, type Browser, type Page } from 'playwright-core';
import type { Teardown } from './stack.js';

/** Debian's chromium, headless, never a downloaded browser; closed with the test. */
export async function launchChromium(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/**
 * Readies the page for functions this process sends it (page.evaluate, waitForFunction). Test files
 * load through tsx, whose esbuild keeps function names by wrapping named functions in `__name(…)`;
 * a function sent to the browser takes those calls along, so the page is given the helper.
 */
export async function acceptFunctions(page: Page): Promise<void> {
  await page.evaluate('globalThis.__name ??= (f) => f');
}

/** Signs in on the /chat page at `url` (with a development token) and waits for its socket. */
export async function signIn(page: Page, url: string, user: string, name: string): Promise<void> {
  await page.goto(`${url}/chat`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=name]', name);
  await page.click('#signin-form button');
  await page.waitForSelector('#conn[data-state=open]');
}
