import t from 'tap';
import { Stack } from '@parley/testkit';
import { gradientPng, launchChromium, screenshot, signIn } from '@parley/testkit/browser';

t.test('two people on two gateways chat in the browser page; a gateway restart is caught up', async (t) => {
  // The demo page signs in with development tokens, which infra/cluster.sh turns on.
  const stack = await Stack.start(t, { gateways: 2, persisters: 1, env: { DEV_TOKENS: 'true' } });
  const [gwA, gwB] = stack.gateways as [NonNullable<(typeof stack.gateways)[0]>, NonNullable<(typeof stack.gateways)[0]>];
  const browser = await launchChromium(t);
  const alice = await (await browser.newContext({ viewport: { width: 1000, height: 640 } })).newPage();
  const bob = await (await browser.newContext({ viewport: { width: 1000, height: 640 } })).newPage();
  await signIn(alice, gwA.url, 'alice', 'Alice');
  await signIn(bob, gwB.url, 'bob', 'Bob');

  // Alice starts a direct chat; it appears in Bob's list at once.
  await alice.fill('#new-direct input', 'bob');
  await alice.click('#new-direct button');
  await alice.waitForSelector('#room-title:text("bob")');
  await bob.click('#rooms li:has-text("alice")');
  await bob.waitForSelector('#composer:not([hidden])');

  // Typing, a message, its receipt.
  await alice.type('#text', 'Hello Bob, ');
  await bob.waitForSelector('#typing:text("alice is typing")');
  await alice.type('#text', 'is the prescription ready?');
  await alice.press('#text', 'Enter');
  await bob.waitForSelector('#messages li:has-text("is the prescription ready?")');
  await alice.waitForSelector('#messages li.mine .seen:text("Seen by bob")');
  await bob.fill('#text', '请稍等，药师马上回复');
  await bob.press('#text', 'Enter');
  await alice.waitForSelector('#messages li:has-text("请稍等，药师马上回复")');
  t.pass('messages, typing and read receipts crossed between the gateways');

  // Bob sends a picture: Alice's page shows it, fetched through her own gateway.
  await bob.setInputFiles('#file', { name: 'prescription.png', mimeType: 'image/png', buffer: gradientPng(240, 160) });
  const picture = alice.locator('#messages li img.picture[alt="prescription.png"]');
  await picture.waitFor();
  await alice.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('img.picture')].some((i) => i.complete && i.naturalWidth === 240));
  t.pass('a picture sent from one page is shown on the other');
  await screenshot(alice, 'chat.png');

  // Bob's gateway restarts on the same address: his page shows it, then catches up.
  await gwB.child.kill('SIGKILL');
  await bob.waitForSelector('#conn:not([data-state=open])');
  await screenshot(bob, 'reconnecting.png');
  await alice.fill('#text', 'Sent while your connection was down');
  await alice.press('#text', 'Enter');
  await stack.addGateway('gateway-b-again', { PORT: String(gwB.port) });
  await bob.waitForSelector('#conn[data-state=open]', { timeout: 30_000 });
  await bob.waitForSelector('#messages li:has-text("Sent while your connection was down")');
  const bodies = await bob.locator('#messages li .body').allTextContents();
  t.same(bodies.filter((b) => b === 'Sent while your connection was down').length, 1, 'caught up, once');
  await screenshot(bob, 'caught-up.png');
});
