// What people expect of the /chat page (issue 23), in Chromium against two gateways.
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { Stack } from '@parley/testkit';
import { axeViolations, launchChromium, signIn } from '@parley/testkit/browser';

type Gateway = NonNullable<Stack['gateways'][0]>;

const stack = await Stack.start(t, { gateways: 2, persisters: 1, env: { DEV_TOKENS: 'true' } });
const [gwA, gwB] = stack.gateways as [Gateway, Gateway];
const browser = await launchChromium(t);
let serial = 0;
const users = (...names: string[]) => names.map((n) => `${n}${++serial}`);

async function pageOf(t: Test, gw: Gateway, user: string, name = user, viewport = { width: 1000, height: 640 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  t.teardown(() => context.close());
  const page = await context.newPage();
  await signIn(page, gw.url, user, name);
  return page;
}
const api = <T = any>(gw: Gateway, user: string, method: string, path: string, body?: unknown) => stack.http<T>(gw, method, path, stack.token(user), body);
const inRoom = (page: Page, id: number) => page.locator(`#rooms li[data-room="${id}"]`);

t.test('sign-in, the open room and the unread total survive a reload; sign-out ends the session', async (t) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(bob!, [alice!]);
  const quiet = await stack.createGroup(bob!, [alice!]);
  const page = await pageOf(t, gwA, alice!, 'Alice');
  await inRoom(page, chat).click();
  await page.waitForSelector('#composer');
  for (const text of ['one', 'two']) {
    const res = await api(gwB, bob!, 'POST', `/api/chats/${quiet}/messages`, { client_id: `q-${++serial}`, message_type: 'text', content: text });
    t.equal(res.status, 201);
  }
  await page.waitForFunction(() => document.title === '(2) Parley');
  t.pass('the tab title counts what is unread');

  await page.reload();
  await page.waitForSelector('#conn[data-state=open]');
  t.equal(await page.textContent('#me-name'), 'Alice', 'still signed in, without the form');
  await page.waitForSelector(`#messages[data-room="${chat}"]`);
  t.pass('the room open before the reload is open again');
  await page.waitForFunction(() => document.title === '(2) Parley');

  await page.click('#sign-out');
  await page.waitForSelector('#signin-form');
  await page.reload();
  await page.waitForSelector('#signin-form');
  t.equal(await page.locator('#app').count(), 0, 'signed out stays signed out');
});

t.test('a phone shows the room list and the conversation as two screens, with a way back', async (t) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(bob!, [alice!]);
  const page = await pageOf(t, gwA, alice!, alice, { width: 390, height: 844 });
  await inRoom(page, chat).waitFor();
  t.ok(await page.isVisible('#rooms'), 'the list first');
  t.notOk(await page.isVisible('.conversation'), 'without the conversation beside it');
  await inRoom(page, chat).click();
  await page.waitForSelector('#composer');
  t.notOk(await page.isVisible('#rooms'), 'the conversation alone');
  await page.click('.room-header .back');
  await page.waitForSelector('#rooms', { state: 'visible' });
  t.notOk(await page.isVisible('.conversation'), 'back to the list');
});

t.test('my own messages: edit and delete from the page, seen so on the other gateway', async (t) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(alice!, [bob!]);
  const a = await pageOf(t, gwA, alice!);
  const b = await pageOf(t, gwB, bob!);
  await inRoom(a, chat).click();
  await inRoom(b, chat).click();
  await a.fill('#text', 'a typo hree');
  await a.press('#text', 'Enter');
  const mine = a.locator('#messages li.mine[data-seq]', { hasText: 'a typo hree' });
  await mine.hover();
  await mine.locator('button', { hasText: 'Edit' }).click();
  await mine.locator('textarea').fill('no typo here');
  await mine.locator('button', { hasText: 'Save' }).click();
  await b.locator('#messages li', { hasText: 'no typo here' }).locator('.meta', { hasText: 'edited' }).waitFor();
  t.pass('the edit reached the other page');
  const edited = a.locator('#messages li.mine[data-seq]', { hasText: 'no typo here' });
  await edited.hover();
  await edited.locator('button', { hasText: 'Delete' }).click();
  await b.locator('#messages li.deleted .body', { hasText: 'Message deleted' }).waitFor();
  t.pass('and the deletion');
});

t.test('web addresses in messages are links that open safely; anything else stays text', async (t) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(bob!, [alice!]);
  const text = 'docs at https://example.com/a?b=1, mail ops@example.com, not javascript:alert(1) nor <a href="x">html</a>';
  t.equal((await api(gwB, bob!, 'POST', `/api/chats/${chat}/messages`, { client_id: `l-${++serial}`, message_type: 'text', content: text })).status, 201);
  const page = await pageOf(t, gwA, alice!);
  await inRoom(page, chat).click();
  const body = page.locator('#messages li .body', { hasText: 'docs at' });
  await body.waitFor();
  t.equal(await body.innerText(), text, 'the text, whole');
  const links = await body
    .locator('a')
    .evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target') })));
  t.same(links, [
    { href: 'https://example.com/a?b=1', rel: 'noopener noreferrer nofollow', target: '_blank' },
    { href: 'mailto:ops@example.com', rel: 'noopener noreferrer nofollow', target: '_blank' },
  ]);
});

t.test('axe-core finds no serious or critical violation on /chat: sign-in, rooms, a conversation, a phone', async (t) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(alice!, [bob!]);
  await api(gwB, bob!, 'POST', `/api/chats/${chat}/messages`, { client_id: `x-${++serial}`, message_type: 'text', content: 'hello, see https://example.com' });
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  await page.goto(`${gwA.url}/chat`);
  await page.waitForSelector('#signin-form');
  t.same(await axeViolations(page), [], 'the sign-in form');
  await signIn(page, gwA.url, alice!, 'Alice');
  await inRoom(page, chat).waitFor();
  t.same(await axeViolations(page), [], 'the room list');
  await inRoom(page, chat).click();
  await page.locator('#messages li', { hasText: 'hello' }).waitFor();
  await page.click('.discover summary');
  t.same(await axeViolations(page), [], 'a conversation, with the public rooms open');
  const phone = await pageOf(t, gwB, bob!, 'Bob', { width: 390, height: 844 });
  await inRoom(phone, chat).click();
  await phone.locator('#messages li', { hasText: 'hello' }).waitFor();
  t.same(await axeViolations(phone), [], 'a conversation on a phone');
});
