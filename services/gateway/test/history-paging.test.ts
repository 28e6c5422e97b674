import t from 'tap';
import { eventually, Stack } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('history pages by cursor: a window of only edits lists nothing, and paging on never skips', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const room = await stack.createGroup('alice', [], gateways[0]);
  const alice = stack.token('alice');
  const call = (method: string, path: string, body?: unknown) => stack.http(gw!, method, `/api/chats/${room}${path}`, alice, body);
  for (const n of [1, 2, 3]) t.equal((await call('POST', '/messages', { client_id: `m${n}`, message_type: 'text', content: `message ${n}` })).status, 201);
  // Seqs 4-8: edits of message 3, which history folds into it.
  for (const n of [1, 2, 3, 4, 5]) t.equal((await call('PATCH', '/messages/3', { client_id: `e${n}`, content: `message 3, edit ${n}` })).status, 201);

  const newest = await call('GET', '/messages?limit=4');
  t.match(
    newest.body,
    { messages: [], has_more: true, head_seq: 8, next_before: 5, next_after: null },
    'the newest window holds only edits: no message, a cursor on',
  );
  const older = await call('GET', `/messages?before=${newest.body.next_before}&limit=4`);
  t.same(
    older.body.messages.map((m: { seq: number; content: string }) => [m.seq, m.content]),
    [
      [3, 'message 3, edit 5'],
      [2, 'message 2'],
      [1, 'message 1'],
    ],
    'the next window has every message, in its current state',
  );
  t.match(older.body, { has_more: false, next_before: null, next_after: 4 });

  // Forward, as a client catching up pages: cursor to cursor, never skipping.
  const seen: number[] = [];
  let after: number | null = 0;
  let pages = 0;
  while (after !== null) {
    const page: { body: { messages: Array<{ seq: number }>; next_after: number | null } } = await call('GET', `/messages?after=${after}&limit=2`);
    seen.push(...page.body.messages.map((m) => m.seq).reverse());
    after = page.body.next_after;
    pages++;
  }
  t.same(seen, [1, 2, 3], 'every message once');
  t.equal(pages, 4, 'four windows of two seqs');
});

/**
 * While Redis cannot answer (paused here; a failover in cluster/redis-heal), history is read from
 * Postgres alone, as far as the persisters have written it, rather than refused.
 */
t.test('history stays readable from Postgres while Redis does not answer', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  // Paused, Redis fails the history's read after this; short, but not so short that a busy machine's
  // first reconciliation misses it.
  const [gw] = await inProcessGateways(t, stack, 1, { REDIS_COMMAND_TIMEOUT_MS: '2000' });
  const room = await stack.createGroup('alice', ['bob'], gw);
  const bob = stack.token('bob');
  const call = (method: string, path: string, token: string, body?: unknown) => stack.http(gw!, method, `/api/chats/${room}${path}`, token, body);
  for (const n of [1, 2, 3])
    t.equal((await call('POST', '/messages', stack.token('alice'), { client_id: `m${n}`, message_type: 'text', content: `message ${n}` })).status, 201);
  await eventually(async () => (await stack.streamLength()) === 0 && (await stack.pendingCount()) === 0, 20_000, 'persisted');
  const whole = await call('GET', '/messages?limit=10', bob);

  const redisPid = stack.redisServer.child.pid;
  process.kill(redisPid, 'SIGSTOP');
  t.teardown(() => process.kill(redisPid, 'SIGCONT'));
  const page = await call('GET', '/messages?limit=10', bob);
  t.equal(page.status, 200, 'a member reads history');
  t.same(page.body, whole.body, 'the same page as from Redis: every persisted message');
  t.match(await call('GET', '/messages?limit=10', stack.token('mallory')), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } }, 'a non-member still cannot');
});
