import t from 'tap';
import { createServer } from 'node:http';
import type { Page } from 'playwright-core';
import { freePort, Stack, type Teardown } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';
import { acceptFunctions, launchChromium } from '@parley/testkit/browser';

/** A page of the customer's own app, on an origin of its own (another port is another origin). */
async function appOrigin(t: Teardown): Promise<string> {
  const port = await freePort();
  const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>'));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return `http://127.0.0.1:${port}`;
}

interface Seen {
  status: number;
  code?: string;
  remaining: string | null;
  retryAfter: string | null;
  node: string | null;
}

/** From the page: a GET, a JSON POST (which a browser preflights), then GETs past the rate limit; what the page could read of each. */
async function callFrom(page: Page, api: string, token: string): Promise<Array<Seen | string>> {
  await acceptFunctions(page);
  return page.evaluate(
    async ({ api, token }) => {
      const auth = { authorization: `Bearer ${token}` };
      const read = (res: Response) =>
        res.json().then((body: { code?: string }) => ({
          status: res.status,
          code: body.code,
          remaining: res.headers.get('x-ratelimit-remaining'),
          retryAfter: res.headers.get('retry-after'),
          node: res.headers.get('x-parley-node'),
        }));
      const call = (init?: RequestInit) => fetch(`${api}/api/chats`, init).then(read, (err: Error) => err.name);
      const seen = [
        await call({ headers: auth }),
        await call({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'group', name: 'from the app' }) }),
      ];
      for (let i = 0; i < 3; i++) seen.push(await call({ headers: auth }));
      return seen;
    },
    { api, token },
  );
}

t.test('REST from another origin: a listed one reads every answer in a real browser, another none', async (t) => {
  const [listed, other] = [await appOrigin(t), await appOrigin(t)];
  const stack = await Stack.start(t, { gateways: 0, persisters: 0, env: { ALLOWED_ORIGINS: listed, REST_RATE_LIMIT: '4' } });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const browser = await launchChromium(t);
  const open = async (origin: string) => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(origin);
    return page;
  };

  const seen = await callFrom(await open(listed), gw!.url, stack.token('alice'));
  t.match(seen[0], { status: 200, remaining: '3', node: gw!.nodeId }, 'a GET: the answer and its headers are readable');
  t.match(seen[1], { status: 201 }, 'a JSON POST: preflighted, then made');
  t.match(seen.at(-1), { status: 429, code: 'RATE_LIMITED', retryAfter: /^\d+$/ }, 'past the limit the page reads the code and Retry-After');

  const refused = await callFrom(await open(other), gw!.url, stack.token('bob'));
  t.same(refused, Array(5).fill('TypeError'), 'an origin not listed reads nothing');
  t.equal((await stack.db.selectFrom('rooms').select('id').execute()).length, 1, 'and its POST never ran: the preflight stopped it');
});
