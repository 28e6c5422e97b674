// The /chat page's defects of issues 23 and 40, each as a user meets it, in Chromium against two gateways.
import t, { type Test } from 'tap';
import type { Browser, Page } from 'playwright-core';
import { Stack, upload } from '@parley/testkit';
import { gradientPng, launchChromium, signIn } from '@parley/testkit/browser';

type Gateway = NonNullable<Stack['gateways'][0]>;

const UPLOAD_LIMIT = 64 * 1024;
const stack = await Stack.start(t, {
  gateways: 2,
  persisters: 1,
  env: { DEV_TOKENS: 'true', UPLOAD_MAX_BYTES: String(UPLOAD_LIMIT), MESSAGE_RATE_BURST: '6', MESSAGE_RATE_PER_SECOND: '20' },
});
const [gwA, gwB] = stack.gateways as [Gateway, Gateway];
const browser: Browser = await launchChromium(t);
let serial = 0;
/** Fresh user ids for each test, so that tests share the stack and nothing else. */
const users = (...names: string[]) => names.map((n) => `${n}${++serial}`);

type PageOf = (gw: Gateway, user: string, name?: string, viewport?: { width: number; height: number }) => Promise<Page>;

/**
 * A test with signed-in pages (`pageOf`): what they throw uncaught, the errors they log (other
 * than the browser's own line for an answered 4xx) and any 404 they ask for fail it.
 */
function browserTest(name: string, body: (t: Test, pageOf: PageOf) => Promise<void>) {
  t.test(name, async (t) => {
    const problems: string[] = [];
    await body(t, (gw, user, name = user, viewport = { width: 1000, height: 640 }) => pageOf(t, problems, gw, user, name, viewport));
    t.same(problems, [], 'no uncaught error, no console error, no 404');
  });
}

async function pageOf(t: Test, problems: string[], gw: Gateway, user: string, name: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text()))
      problems.push(`console: ${msg.text()}`);
  });
  page.on('response', (res) => res.status() === 404 && problems.push(`404: ${res.url()}`));
  await signIn(page, gw.url, user, name);
  return page;
}

const api = <T = any>(gw: Gateway, user: string, method: string, path: string, body?: unknown) => stack.http<T>(gw, method, path, stack.token(user), body);
async function direct(a: string, b: string): Promise<number> {
  const res = await api(gwA, a, 'POST', '/api/chats', { type: 'direct', user_id: b });
  return res.body.id as number;
}
async function post(gw: Gateway, user: string, room: number, content: string): Promise<number> {
  const res = await api(gw, user, 'POST', `/api/chats/${room}/messages`, { client_id: `t-${++serial}`, message_type: 'text', content });
  if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.seq as number;
}
/** Alice and Bob on two gateways, each with their direct room open. */
async function conversation(pageOf: PageOf): Promise<{ a: Page; b: Page }> {
  const [alice, bob] = users('alice', 'bob');
  await direct(alice!, bob!);
  const a = await pageOf(gwA, alice!);
  const b = await pageOf(gwB, bob!);
  await room(a, bob!).click();
  await room(b, alice!).click();
  return { a, b };
}
/** Two frames: what the page does in answer to an event has been rendered. */
const settled = (page: Page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
const room = (page: Page, title: string) => page.locator('#rooms li', { hasText: title });
const bodies = (page: Page) => page.locator('#messages li .body').allInnerTexts();

browserTest('1. switching rooms quickly shows the room opened last, and sends go where they are shown', async (t, pageOf) => {
  const [me, bob, carol] = users('switcher', 'bob', 'carol');
  const toBob = await direct(me!, bob!);
  const toCarol = await direct(me!, carol!);
  await post(gwA, bob!, toBob, 'only in the room with bob');
  await post(gwA, carol!, toCarol, 'only in the room with carol');
  const page = await pageOf(gwA, me!);
  await room(page, bob!).waitFor();
  await room(page, carol!).waitFor();
  // A slow network for bob's room: its history answers 300 ms late.
  await page.route(`**/api/chats/${toBob}/messages**`, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await route.continue();
  });
  const bobsAnswer = page.waitForResponse((res) => res.url().includes(`/api/chats/${toBob}/messages`));
  await room(page, bob!).click();
  await room(page, carol!).click();
  await bobsAnswer;
  await settled(page);
  t.equal(await page.textContent('#room-title'), carol, "carol's header");
  t.same(await bodies(page), ['only in the room with carol'], "over carol's messages, bob's late answer dropped");
  await page.fill('#text', 'for carol');
  await page.press('#text', 'Enter');
  // The stored message (its seq shown), not the page's own "Sending…" item with the same text.
  await page.locator('#messages li[data-seq] .body', { hasText: 'for carol' }).waitFor();
  const history = await api(gwA, carol!, 'GET', `/api/chats/${toCarol}/messages`);
  t.same(
    history.body.messages.map((m: { content: string }) => m.content),
    ['for carol', 'only in the room with carol'],
    'sent to the room shown',
  );
});

browserTest('2. a room I left, or was removed from, leaves the list and the view, with a word why', async (t, pageOf) => {
  const [me, owner] = users('member', 'owner');
  const removed = await stack.createGroup(owner!, [me!]);
  const left = await stack.createGroup(owner!, [me!]);
  const page = await pageOf(gwA, me!);
  await page.locator(`#rooms li[data-room="${removed}"]`).click();
  await page.waitForSelector('#composer');
  t.equal((await api(gwB, owner!, 'DELETE', `/api/chats/${removed}/participants/${me}`)).status, 204, 'the owner removes me');
  await page.locator(`#rooms li[data-room="${removed}"]`).waitFor({ state: 'detached' });
  t.equal(await page.textContent('#room-title'), 'Pick a conversation', 'the conversation closed');
  t.equal(await page.locator('#composer').count(), 0, 'no composer to type into');
  await page.locator('.banner.notice', { hasText: 'you were removed' }).waitFor();

  await page.locator(`#rooms li[data-room="${left}"]`).click();
  await page.waitForSelector('#composer');
  await page.click('.room-header .leave');
  await page.locator(`#rooms li[data-room="${left}"]`).waitFor({ state: 'detached' });
  await page.locator('.banner.notice', { hasText: 'you left' }).waitFor();
  t.equal(await page.locator('#composer').count(), 0, 'left: no composer');
});

browserTest('3. a room with pictures opens at its newest message, on desktop and on a phone', async (t, pageOf) => {
  for (const viewport of [
    { width: 1000, height: 640 },
    { width: 390, height: 844 },
  ]) {
    const [me, bob] = users('viewer', 'bob');
    const chat = await direct(bob!, me!);
    for (let i = 0; i < 4; i++) {
      const up = await upload(gwB, chat, stack.token(bob!), [{ filename: `p${i}.png`, type: 'image/png', data: gradientPng(300, 400) }]);
      const res = await api(gwB, bob!, 'POST', `/api/chats/${chat}/messages`, {
        client_id: `img-${serial}-${i}`,
        message_type: 'image',
        content: '',
        file_id: up.body.files[0].id,
      });
      t.equal(res.status, 201);
    }
    await post(gwB, bob!, chat, 'the newest message');
    const page = await pageOf(gwA, me!, me, viewport);
    await room(page, bob!).click();
    await page.waitForFunction(() => {
      const pictures = [...document.querySelectorAll<HTMLImageElement>('#messages img.picture')];
      return pictures.length === 4 && pictures.every((p) => p.complete && p.naturalWidth === 300);
    });
    await settled(page);
    const gap = await page.$eval('#messages', (el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    t.ok(gap < 2, `${viewport.width}×${viewport.height}: at the bottom once the pictures loaded (${gap}px above it)`);
  }
});

browserTest('4. "Seen by" stays when I switch away and back; 5. "Delivered" once the other page has it', async (t, pageOf) => {
  const [alice, bob, other] = users('alice', 'bob', 'other');
  const chat = await direct(alice!, bob!);
  await direct(alice!, other!);
  const a = await pageOf(gwA, alice!, 'Alice');
  const b = await pageOf(gwB, bob!, 'Bob');
  await room(a, bob!).click();
  await a.fill('#text', 'are you there?');
  await a.press('#text', 'Enter');
  // Bob's page has the message, though he has not opened the room: delivered, not read.
  await a.locator('#messages li.mine .status', { hasText: 'Delivered' }).waitFor();
  const seq = Number(await a.locator('#messages li.mine').last().getAttribute('data-seq'));
  t.match((await api(gwA, alice!, 'GET', `/api/chats/${chat}/messages/${seq}/status`)).body, { status: 'delivered' }, 'the status API agrees');

  await b.locator(`#rooms li[data-room="${chat}"]`).click();
  await a.locator('#messages li.mine .seen', { hasText: 'Seen by' }).waitFor();
  await room(a, other!).click();
  await a.waitForSelector(`#room-title:text("${other}")`);
  // By now the room's detail has told Alice's page Bob's display name: the room is found by id.
  await a.locator(`#rooms li[data-room="${chat}"] button`).click();
  await a.locator('#messages li.mine .seen', { hasText: 'Seen by' }).waitFor();
  t.match((await api(gwA, alice!, 'GET', `/api/chats/${chat}/messages/${seq}/status`)).body, { status: 'read' });
});

browserTest("6. another member's edit and delete change the message in place: no reload, older pages kept", async (t, pageOf) => {
  const [reader, writer] = users('reader', 'writer');
  const chat = await stack.createGroup(writer!, [reader!]);
  const seqs: number[] = [];
  for (let i = 1; i <= 70; i++) seqs.push(await post(gwB, writer!, chat, `message ${i}`));
  const page = await pageOf(gwA, reader!);
  await page.locator(`#rooms li[data-room="${chat}"]`).click();
  await page.locator('#messages li .body', { hasText: 'message 70' }).waitFor();
  // Scrolling to the top pages back.
  await page.$eval('#messages', (el) => (el.scrollTop = 0));
  await page.locator('#messages li .body', { hasText: /^message 1$/ }).waitFor();
  await page.$eval('#messages', (el) => (el.scrollTop = 200));
  await page.$eval('#messages li[data-seq]', (el) => el.setAttribute('data-marked', 'yes'));
  const before = await page.$eval('#messages', (el) => ({ top: el.scrollTop, count: el.children.length }));
  t.ok(before.count >= 70, 'both pages shown');

  t.equal(
    (await api(gwB, writer!, 'PATCH', `/api/chats/${chat}/messages/${seqs[64]}`, { client_id: `edit-${serial}`, content: 'message 65, edited' })).status,
    201,
  );
  await page.locator('#messages li .body', { hasText: 'message 65, edited' }).waitFor();
  t.equal((await api(gwB, writer!, 'DELETE', `/api/chats/${chat}/messages/${seqs[65]}`)).status, 201);
  await page.locator(`#messages li[data-seq="${seqs[65]}"] .body`, { hasText: 'Message deleted' }).waitFor();
  await settled(page);
  const after = await page.$eval('#messages', (el) => ({ top: el.scrollTop, count: el.children.length, marked: el.querySelector('[data-marked]') !== null }));
  t.same(after, { ...before, marked: true }, 'the same elements, the same place, nothing dropped');
});

browserTest('8. line breaks: Shift+Enter starts a new line, and the other side sees the lines', async (t, pageOf) => {
  const { a, b } = await conversation(pageOf);
  await a.type('#text', 'line one');
  await a.press('#text', 'Shift+Enter');
  await a.type('#text', 'line two');
  await a.press('#text', 'Enter');
  await b.locator('#messages li .body', { hasText: 'line two' }).waitFor();
  t.same(await bodies(b), ['line one\nline two'], 'two lines');
});

browserTest('9. an upload over the limit says the limit; banners can be dismissed and clear on success', async (t, pageOf) => {
  const [alice, bob] = users('alice', 'bob');
  await direct(alice!, bob!);
  const a = await pageOf(gwA, alice!);
  await room(a, bob!).click();
  await a.setInputFiles('#file', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(UPLOAD_LIMIT + 1, 7) });
  const error = a.locator('.banner.error');
  await error.waitFor();
  t.match(await error.textContent(), `big.bin not sent: A file is at most ${UPLOAD_LIMIT} bytes (64 KB)`);
  await a.click('.banner.error .dismiss');
  await error.waitFor({ state: 'detached' });
  await a.setInputFiles('#file', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(UPLOAD_LIMIT + 1, 7) });
  await error.waitFor();
  await a.setInputFiles('#file', { name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('twenty-eight bytes of text!\n') });
  await error.waitFor({ state: 'detached' });
  t.pass('a later success clears the error');
  // 13. the size as people read it.
  await a.locator('#messages a.file', { hasText: 'note.txt · 28 B' }).waitFor();
});

browserTest('10. messages past the rate limit are sent after the wait, all of them, in order', async (t, pageOf) => {
  const { a, b } = await conversation(pageOf);
  const sent = Array.from({ length: 16 }, (_, i) => `quick ${i + 1}`);
  for (const text of sent) {
    await a.fill('#text', text);
    await a.press('#text', 'Enter');
  }
  await b.locator('#messages li .body', { hasText: /^quick 16$/ }).waitFor();
  t.same(await bodies(b), sent, 'every message once, in the order typed');
  await a.locator('#messages li.outgoing').first().waitFor({ state: 'detached' });
  t.equal(await a.locator('.banner.error').count(), 0, 'no error shown');
});

browserTest('11. the public rooms stay current: one created later, one I left', async (t, pageOf) => {
  const [me, carol] = users('browser', 'carol');
  const page = await pageOf(gwA, me!);
  const club = `Book club ${serial}`;
  const created = await api(gwB, carol!, 'POST', '/api/chats', { type: 'group', name: club, is_public: true });
  t.equal(created.status, 201);
  await page.click('.discover summary');
  const listed = page.locator('#public-rooms li', { hasText: club });
  await listed.waitFor();
  t.match(await listed.textContent(), /1 member · join/, '"1 member", not "1 members"');
  await listed.locator('button').click();
  await page.waitForSelector(`#room-title:text("${club}")`);
  await listed.waitFor({ state: 'detached' });
  t.match(await page.textContent('#room-sub'), /2 members/);
  await page.click('.room-header .leave');
  await listed.waitFor();
  t.pass('the room I left is listed again');
});

browserTest('12. a direct chat with myself says why it cannot be; 13. others see my display name', async (t, pageOf) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(alice!, [bob!]);
  // Alice signs in first: Bob's name is not known anywhere yet when her page lists her rooms.
  const a = await pageOf(gwA, alice!, 'Alice');
  const b = await pageOf(gwB, bob!, 'Bob Builder');
  await a.fill('#new-direct input', alice!);
  await a.click('#new-direct button');
  await a.locator('.banner.error', { hasText: 'A direct room needs another user' }).waitFor();
  await b.locator(`#rooms li[data-room="${chat}"]`).click();
  await b.fill('#text', 'hello from Bob');
  await b.press('#text', 'Enter');
  await a.locator(`#rooms li[data-room="${chat}"]`).click();
  const mine = a.locator('#messages li', { hasText: 'hello from Bob' });
  await mine.waitFor();
  t.equal(await mine.locator('.who').textContent(), 'Bob Builder', 'the sender by name, not by id');
});

browserTest('issue 40, 1. the room list shows no deleted text, and an edited message as it reads now', async (t, pageOf) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(alice!, [bob!]);
  const b = await pageOf(gwB, bob!);
  const secret = await post(gwA, alice!, chat, 'my door code is 4711');
  await b.locator(`#rooms li[data-room="${chat}"] .preview:text("door code is 4711")`).waitFor();
  const deleted = await api(gwA, alice!, 'DELETE', `/api/chats/${chat}/messages/${secret}`);
  t.equal(deleted.status, 201);
  await b.locator(`#rooms li[data-room="${chat}"] .preview:text("Message deleted")`).waitFor();
  t.notMatch(await b.locator('#rooms').textContent(), /4711/, 'the deleted text is gone from the room list');

  const typo = await post(gwA, alice!, chat, 'meet at 5');
  await b.locator(`#rooms li[data-room="${chat}"] .preview:text("meet at 5")`).waitFor();
  const edited = await api(gwA, alice!, 'PATCH', `/api/chats/${chat}/messages/${typo}`, { client_id: `t-${++serial}`, content: 'meet at 6' });
  t.equal(edited.status, 201);
  await b.locator(`#rooms li[data-room="${chat}"] .preview:text("meet at 6")`).waitFor();
  t.pass('the edit reached the preview without a reload');
});

browserTest('issue 40, 2. a group made in the page is private unless asked, and the page says which', async (t, pageOf) => {
  const [alice, carol] = users('alice', 'carol');
  const a = await pageOf(gwA, alice!);
  const create = async (name: string, isPublic: boolean) => {
    await a.fill('#new-group input[name=value]', name);
    if (isPublic) await a.check('#new-group input[name=public]');
    await a.click('#new-group button');
    await a.waitForSelector(`#room-title:text("${name}")`);
    return a.textContent('#room-sub');
  };
  const secret = `Plans ${serial}`;
  t.match(await create(secret, false), /^private group · 1 member/, 'private by default, and it says so');
  const open = `Open house ${serial}`;
  t.match(await create(open, true), /^public group · 1 member/, 'public when asked');
  const visible = await api(gwB, carol!, 'GET', '/api/chats?scope=visible&limit=100');
  const names = visible.body.chats.map((c: { name: string }) => c.name);
  t.ok(names.includes(open), 'others find the public one');
  t.notOk(names.includes(secret), 'and not the private one');
});

browserTest('issue 40, 3. with WebSockets blocked the page polls: rooms listed, unread in the title, the open room restored', async (t, pageOf) => {
  const [alice, bob] = users('alice', 'bob');
  const kept = await stack.createGroup(bob!, [alice!]);
  const other = await stack.createGroup(bob!, [alice!]);
  await post(gwB, bob!, kept, 'before the reload');
  const a = await pageOf(gwA, alice!);
  await a.locator(`#rooms li[data-room="${kept}"] button`).click();
  await a.locator('#messages li', { hasText: 'before the reload' }).waitFor();
  await post(gwB, bob!, other, 'unread while away');
  // From the reload on, every WebSocket fails before it opens (a proxy that refuses upgrades).
  // (A string: the test's own functions carry the TypeScript loader's helpers, unknown in the page.)
  await a.context().addInitScript({
    content: `window.WebSocket = class {
      constructor() {
        this.readyState = 0;
        setTimeout(() => { this.readyState = 3; this.onerror?.(new Event('error')); this.onclose?.({ code: 1006 }); }, 5);
      }
      send() {}
      close() {}
    };`,
  });
  await a.reload();
  await a.locator('#conn[data-state="polling"]').waitFor();
  await a.locator(`#rooms li[data-room="${other}"]`).waitFor();
  t.pass('the rooms are listed');
  await a.waitForFunction(() => document.title === '(1) Parley');
  t.pass('the unread count is in the title');
  await a.locator('#messages li', { hasText: 'before the reload' }).waitFor();
  t.equal(await a.getAttribute('#messages', 'data-room'), String(kept), 'the room open before the reload is open again');
});

browserTest("issue 40, 4. on a phone, Back returns from a conversation to the room list, and the page's own back button is the same", async (t, pageOf) => {
  const [alice, bob, carol] = users('alice', 'bob', 'carol');
  const toBob = await direct(alice!, bob!);
  const toCarol = await direct(alice!, carol!);
  const a = await pageOf(gwA, alice!, 'Alice', { width: 390, height: 740 });
  const view = () => a.getAttribute('#app', 'data-view');
  const chat = a.url();
  await room(a, bob!).click();
  await a.locator('#app[data-view="conversation"]').waitFor();
  await a.goBack();
  await a.locator('#app[data-view="rooms"]').waitFor();
  t.equal(a.url(), chat, 'Back stayed on the page, at the room list');

  await room(a, bob!).click();
  await a.locator(`#messages[data-room="${toBob}"]`).waitFor();
  await a.click('.room-header .back');
  await a.locator('#app[data-view="rooms"]').waitFor();
  await room(a, carol!).click();
  await a.locator(`#messages[data-room="${toCarol}"]`).waitFor();
  await a.goBack();
  await a.locator('#app[data-view="rooms"]').waitFor();
  t.equal(await view(), 'rooms', 'after the back button, Back from the next room opened is the list again');
});

browserTest('issue 40, 5. a half-open connection is noticed within seconds of a send, the user told, and the message goes', async (t, pageOf) => {
  const { a, b } = await conversation(pageOf);
  // From the reload on, the page's sockets run over a network the test can cut: nothing passes,
  // the socket still says open, and a close never ends (as when Wi-Fi is gone).
  await a.context().addInitScript({
    content: `{
      const Native = window.WebSocket;
      const links = [];
      window.cutNetwork = () => links.forEach((l) => (l.cut = true));
      window.WebSocket = class {
        constructor(url) {
          const link = { ws: new Native(url), cut: false };
          links.push(link);
          this.link = link;
          this.onopen = this.onmessage = this.onclose = this.onerror = null;
          for (const e of ['open', 'message', 'close', 'error']) link.ws['on' + e] = (ev) => link.cut || this['on' + e]?.(ev);
        }
        get readyState() { return this.link.ws.readyState; }
        send(data) { if (!this.link.cut) this.link.ws.send(data); }
        close(code, reason) { if (!this.link.cut) this.link.ws.close(code, reason); }
      };
    }`,
  });
  await a.reload();
  await a.locator('#conn[data-state="open"]').waitFor();
  await a.locator('#composer').waitFor();
  // What the connection indicator says, each change with its time (the reconnect itself is quick).
  await a.evaluate(() => {
    const shown: Array<{ state: string | null; at: number }> = [];
    (window as unknown as { shown: typeof shown }).shown = shown;
    const conn = document.querySelector('#conn')!;
    new MutationObserver(() => shown.push({ state: conn.getAttribute('data-state'), at: Date.now() })).observe(conn, { attributes: true });
    (window as unknown as { cutNetwork: () => void }).cutNetwork();
  });
  const sentAt = Date.now();
  await a.fill('#text', 'into the dead network');
  await a.press('#text', 'Enter');
  await b.locator('#messages li[data-seq] .body', { hasText: 'into the dead network' }).waitFor({ timeout: 30_000 });
  await a.locator('#messages li[data-seq] .body', { hasText: 'into the dead network' }).waitFor();
  const shown = await a.evaluate(() => (window as unknown as { shown: Array<{ state: string; at: number }> }).shown);
  const told = shown.find((s) => s.state === 'reconnecting');
  t.ok(told, `the page said it was reconnecting (${shown.map((s) => s.state).join(' → ')})`);
  t.ok(told && told.at - sentAt < 20_000, `${(((told?.at ?? NaN) - sentAt) / 1000).toFixed(1)} s after the send (< 20 s)`);
  t.pass('sent on the new connection, and the other side has it');
});

browserTest('issue 40, 6. promoted, the admin controls come at once; the "New messages" divider sits at the first unread past a page', async (t, pageOf) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(alice!, [bob!]);
  // More unread than a page of history (50), sent no faster than the rate limit lets through.
  for (let i = 1; i <= 70; i++) {
    for (;;) {
      const res = await api(gwA, alice!, 'POST', `/api/chats/${chat}/messages`, {
        client_id: `backlog-${serial}-${i}`,
        message_type: 'text',
        content: `backlog ${i}`,
      });
      if (res.status === 201) break;
      if (res.status !== 429) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((resolve) => setTimeout(resolve, res.body.retry_after_ms as number));
    }
  }
  const b = await pageOf(gwB, bob!);
  await room(b, `backlog 70`).click();
  await b.locator('#messages li.divider.unread').waitFor();
  t.equal(await b.locator('#messages li.divider.unread + li .body').textContent(), 'backlog 1', 'the divider sits before the first unread message');

  await b.click('.members-toggle');
  await b.locator('#members li', { hasText: alice! }).waitFor();
  t.equal(await b.locator('#add-member').count(), 0, 'a member has no admin controls');
  const promoted = await api(gwA, alice!, 'PATCH', `/api/chats/${chat}/participants/${bob}`, { role: 'admin' });
  t.equal(promoted.status, 200);
  await b.locator('#add-member').waitFor();
  t.pass('promoted: the admin controls without a reload');
});

browserTest('issue 40: unread badges and the title count messages, not edits or deletions', async (t, pageOf) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(bob!, [alice!]);
  const a = await pageOf(gwA, alice!);
  const badge = a.locator(`#rooms li[data-room="${chat}"] .badge`);
  const first = await post(gwB, bob!, chat, 'first');
  await post(gwB, bob!, chat, 'second');
  await a.locator(`#rooms li[data-room="${chat}"] .badge:text-is("2")`).waitFor();
  const edited = await api(gwB, bob!, 'PATCH', `/api/chats/${chat}/messages/${first}`, { client_id: `t-${++serial}`, content: 'first, edited' });
  t.equal(edited.status, 201);
  // The room's events come in order: once the third message is shown, the edit before it was handled.
  await post(gwB, bob!, chat, 'third');
  await a.locator(`#rooms li[data-room="${chat}"] .preview:text("third")`).waitFor();
  await settled(a);
  t.equal(await badge.textContent(), '3', 'an edit is not a new message');
  const deleted = await api(gwB, bob!, 'DELETE', `/api/chats/${chat}/messages/${first}`);
  t.equal(deleted.status, 201);
  await a.locator(`#rooms li[data-room="${chat}"] .badge:text-is("2")`).waitFor();
  await a.waitForFunction(() => document.title === '(2) Parley');
  t.pass('a deleted message no longer counts, in the badge and the title');
});

browserTest('an edit that comes while the room is loading is not lost under the history read before it', async (t, pageOf) => {
  const [alice, bob] = users('alice', 'bob');
  const chat = await stack.createGroup(alice!, [bob!]);
  const seq = await post(gwA, alice!, chat, 'a typo hree');
  const b = await pageOf(gwB, bob!);
  await b.locator(`#rooms li[data-room="${chat}"] .preview:text("a typo hree")`).waitFor();
  // Bob's history of the room is read at once but answered only after the edit has reached his page.
  let release!: () => void;
  const edited = new Promise<void>((resolve) => (release = resolve));
  await b.route(new RegExp(`/api/chats/${chat}/messages(\\?|$)`), async (route) => {
    const response = await route.fetch();
    await edited;
    await route.fulfill({ response });
  });
  await b.locator(`#rooms li[data-room="${chat}"] button`).click();
  const res = await api(gwA, alice!, 'PATCH', `/api/chats/${chat}/messages/${seq}`, { client_id: `t-${++serial}`, content: 'no typo here' });
  t.equal(res.status, 201);
  await b.locator(`#rooms li[data-room="${chat}"] .preview:text("no typo here")`).waitFor();
  release();
  await b.locator('#messages li[data-seq] .meta', { hasText: 'edited' }).waitFor();
  t.same(await bodies(b), ['no typo here'], 'the message as edited, not as history read it');
});
