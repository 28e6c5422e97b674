// What people expect of the /chat page (issue 23), in Chromium against two gateways.
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { Stack } from '@parley/testkit';
import { axeViolations, launchChromium, screenshot, signIn } from '@parley/testkit/browser';

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
  for (const text of ['Is the 3 pm slot still free?', 'Yes, see you then.'])
    await api(gwB, bob!, 'POST', `/api/chats/${chat}/messages`, { client_id: `ph-${++serial}`, message_type: 'text', content: text });
  const page = await pageOf(t, gwA, alice!, alice, { width: 390, height: 844 });
  await inRoom(page, chat).waitFor();
  t.ok(await page.isVisible('#rooms'), 'the list first');
  await screenshot(page, 'chat-phone-rooms.png');
  t.notOk(await page.isVisible('.conversation'), 'without the conversation beside it');
  await inRoom(page, chat).click();
  await page.waitForSelector('#composer');
  t.notOk(await page.isVisible('#rooms'), 'the conversation alone');
  await page.locator('#messages li', { hasText: 'see you then' }).waitFor();
  await screenshot(page, 'chat-phone-conversation.png');
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

t.test('members: an admin adds, promotes and removes people from the page; the others see it', async (t) => {
  const [alice, bob, carol] = users('alice', 'bob', 'carol');
  const chat = await stack.createGroup(alice!, [bob!]);
  const a = await pageOf(t, gwA, alice!, 'Alice');
  const b = await pageOf(t, gwB, bob!, 'Bob');
  await inRoom(a, chat).click();
  await a.click('.members-toggle');
  const members = a.locator('#members li');
  await members.filter({ hasText: 'Bob' }).waitFor();
  t.same(await members.locator('.role').allTextContents(), ['admin', 'member'], 'the owner and Bob, by name, with roles');
  await a.fill('#add-member input', carol!);
  await a.click('#add-member button');
  await members.filter({ hasText: carol }).waitFor();
  await a.locator(`#members li[data-user="${bob}"] button`, { hasText: 'Make admin' }).click();
  await a.locator(`#members li[data-user="${bob}"] .role`, { hasText: 'admin' }).waitFor();
  await a.locator(`#members li[data-user="${carol}"] button`, { hasText: 'Remove' }).click();
  await a.locator(`#members li[data-user="${carol}"]`).waitFor({ state: 'detached' });
  await inRoom(b, chat).click();
  await b.locator('#messages li.system', { hasText: `removed ${carol}` }).waitFor();
  await screenshot(a, 'chat-members.png');
  t.match(await b.locator('#messages li.system').allTextContents(), [/added/, /admin/, /removed/], 'Bob sees each change as it happened');
  t.match(await b.textContent('#room-sub'), /2 members/);
  const roles = await stack.http(gwB, 'GET', `/api/chats/${chat}/participants`, stack.token(bob!));
  t.same(
    roles.body.participants.map((p: { user_id: string; role: string }) => [p.user_id, p.role]),
    [
      [alice, 'admin'],
      [bob, 'admin'],
    ],
  );
});

t.test('the room list previews the newest message; a new-messages divider and a day divider; presence in the header', async (t) => {
  const [alice, bob] = users('alice', 'bob');
  const res = await api(gwA, alice!, 'POST', '/api/chats', { type: 'direct', user_id: bob! });
  const chat = res.body.id as number;
  for (const [who, text] of [
    [alice, 'read already'],
    [bob, 'first new one'],
    [bob, 'second new one'],
  ] as const)
    t.equal((await api(gwB, who!, 'POST', `/api/chats/${chat}/messages`, { client_id: `p-${++serial}`, message_type: 'text', content: text })).status, 201);
  const b = await pageOf(t, gwB, bob!, 'Bob');
  const a = await pageOf(t, gwA, alice!, 'Alice');
  t.match(await inRoom(a, chat).locator('.preview').textContent(), 'second new one', 'the newest message under the name');
  await inRoom(a, chat).click();
  await a.locator('#messages li', { hasText: 'second new one' }).waitFor();
  const items = await a
    .locator('#messages > li')
    .evaluateAll((lis) => lis.map((li) => (li.classList.contains('divider') ? `-- ${li.textContent} --` : li.querySelector('.body')?.textContent)));
  t.same(items, ['-- Today --', 'read already', '-- New messages --', 'first new one', 'second new one']);
  await a.locator('#room-sub', { hasText: 'online' }).waitFor();
  await b.click('#sign-out');
  await a.locator('#room-sub', { hasText: 'last seen' }).waitFor();
  t.pass('the peer online, then last seen once signed out');
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

/**
 * A send the server refuses for now (here Redis paused past SEND_TIMEOUT_MS, as in a failover) is
 * shown as retrying, not as failed: the SDK sends it again by itself, and it is sent once Redis
 * answers. Last in the file: the pause reaches every gateway.
 */
t.test('a message refused for now shows as retrying, and is sent once when Redis answers again', async (t) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(alice!, [bob!]);
  const a = await pageOf(t, gwA, alice!);
  await inRoom(a, chat).click();
  const redisPid = stack.redisServer.child.pid;
  process.kill(redisPid, 'SIGSTOP');
  t.teardown(() => process.kill(redisPid, 'SIGCONT'));
  await a.fill('#text', 'sent through a failover');
  await a.press('#text', 'Enter');
  await a
    .locator('#messages li.outgoing.retrying', { hasText: 'sent through a failover' })
    .locator('.status', { hasText: 'Retrying…' })
    .waitFor({ timeout: 20_000 });
  t.pass('shown as retrying');
  process.kill(redisPid, 'SIGCONT');
  await a.locator('#messages li.mine[data-seq]', { hasText: 'sent through a failover' }).waitFor({ timeout: 30_000 });
  t.equal(await a.locator('#messages li', { hasText: 'sent through a failover' }).count(), 1, 'then shown once, as sent');
  const history = await api<{ messages: Array<{ content: string }> }>(gwA, alice!, 'GET', `/api/chats/${chat}/messages?limit=50`);
  t.equal(history.body.messages.filter((m) => m.content === 'sent through a failover').length, 1, 'and stored once');
});
