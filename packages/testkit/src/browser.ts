import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { crc32, deflateSync } from 'node:zlib';
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

/** Where the browser tests' screenshots go, `.tap/screenshots/` (docs/*.png are some of them, copied by hand). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(process.cwd(), '.tap', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name) });
}

/** Signs in on the /chat page at `url` (with a development token) and waits for its socket. */
export async function signIn(page: Page, url: string, user: string, name: string): Promise<void> {
  await page.goto(`${url}/chat`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=name]', name);
  await page.click('#signin-form button');
  await page.waitForSelector('#conn[data-state=open]');
}

/** A PNG of a soft gradient, made by hand: signature, IHDR, one zlib-compressed IDAT, IEND. */
export function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows.set([90 + (x * 120) / width, 140 + (y * 80) / height, 220], y * (1 + width * 3) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const require = createRequire(import.meta.url);

/** One accessibility rule the page breaks, as axe-core reports it. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2.1 A and AA) on the page as it is now and returns the serious and critical
 * violations. axe goes in through the DevTools protocol, which the page's CSP does not govern.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(options: object): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> }> }> };
      }
    ).axe;
    const { violations } = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}
