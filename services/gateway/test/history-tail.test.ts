import t from 'tap';
import { countMessages } from '@parley/db';
import { Stack, TestClient, eventually } from '@parley/testkit';

t.test('with no persister running, history lists every acked message; a persister then drains the backlog', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0, env: { ROOM_LOG_WINDOW: '10' } });
  const [gw] = stack.gateways;
  const room = await stack.createGroup('alice', ['bob']);
  const { client } = await TestClient.open(gw!.wsUrl, stack.token('alice'));
  t.teardown(() => client.close());

  const total = 230;
  const acks = await Promise.all(Array.from({ length: total }, (_, i) => client.sendMessage(room, `m${i}`, `k${i}`)));
  const ackedIds = acks.map((a) => (a.type === 'ack' ? a.id : 'refused'));
  t.equal(await countMessages(stack.db, room), 0, 'nothing is in Postgres yet');

  const readAll = async () => {
    const ids: string[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await stack.http(gw!, 'GET', `/api/chats/${room}/messages?limit=100${before ? `&before=${before}` : ''}`, stack.token('bob'));
      t.equal(page.status, 200);
      const seqs = page.body.messages.map((m: { seq: number }) => m.seq);
      t.same(
        seqs,
        [...seqs].sort((a: number, b: number) => b - a),
        'each page is newest first',
      );
      ids.push(...page.body.messages.map((m: { id: string }) => m.id));
      if (!page.body.has_more) return ids.reverse();
      before = seqs[seqs.length - 1];
    }
  };
  t.same(await readAll(), ackedIds, 'history (from the Redis tail) has every acked message, in order');

  const after = await stack.http(gw!, 'GET', `/api/chats/${room}/messages?after=200&limit=5`, stack.token('bob'));
  t.same(
    after.body.messages.map((m: { seq: number }) => m.seq),
    [205, 204, 203, 202, 201],
    'after= returns the messages that follow',
  );
  t.equal(after.body.has_more, true);
  const tooMany = await stack.http(gw!, 'GET', `/api/chats/${room}/messages?limit=101`, stack.token('bob'));
  t.match(tooMany, { status: 400, body: { code: 'REQUEST_INVALID' } }, 'a page holds at most 100');
  const both = await stack.http(gw!, 'GET', `/api/chats/${room}/messages?after=1&before=9`, stack.token('bob'));
  t.match(both, { status: 400, body: { code: 'REQUEST_INVALID' } }, 'before and after together are refused');

  await stack.addPersister();
  await eventually(async () => (await countMessages(stack.db, room)) === total && (await stack.streamLength()) === 0, 20_000, 'backlog drained');
  await eventually(async () => Number(await stack.redis.hget(stack.keys.roomMeta(room), 'persisted')) === total, 10_000, 'persisted watermark advanced');
  const logLength = await stack.redis.xlen(stack.keys.roomLog(room));
  t.ok(logLength < total, `the room log was trimmed once persisted (${logLength} of ${total} left)`);
  t.same(await readAll(), ackedIds, 'history (now mostly from Postgres) is unchanged');
});
