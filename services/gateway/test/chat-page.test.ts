import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { Stack } from '@parley/testkit';

t.test('the gateway serves the /chat page, its script and its styles, locked to its own origin', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0 });
  const [gw] = stack.gateways;
  const root = await fetch(`${gw!.url}/`, { redirect: 'manual' });
  t.equal(root.status, 302, 'the root sends a visitor somewhere useful');
  t.equal(root.headers.get('location'), '/chat', 'to the chat page');
  const page = await fetch(`${gw!.url}/chat`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  t.match(html, /<script type="module" src="\/chat\/chat\.js">/);
  const script = await fetch(`${gw!.url}/chat/chat.js`);
  t.match(script.headers.get('content-type'), /^text\/javascript/);
  const js = await script.text();
  t.ok(js.length > 1000 && js.includes('/dev/tokens'), 'the bundled page script, SDK included');
  // Preact writes strings as text nodes; the page's own code never asks it for HTML.
  const web = new URL('../web/', import.meta.url);
  for (const name of readdirSync(web).filter((f) => /\.tsx?$/.test(f)))
    t.notOk(
      /innerHTML|dangerouslySetInnerHTML|insertAdjacentHTML|outerHTML/.test(readFileSync(new URL(name, web), 'utf8')),
      `${name} writes server strings as text, never as HTML`,
    );
  t.match((await fetch(`${gw!.url}/chat/chat.css`)).headers.get('content-type'), /^text\/css/);
});
