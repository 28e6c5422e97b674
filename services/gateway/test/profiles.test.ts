import t from 'tap';
import { eventually, Stack, TEST_SERVICE_TOKEN } from '@parley/testkit';
import { inProcessGateways, type InProcessGateway } from './in-process.js';

type Gateway = InProcessGateway;

t.test('profiles: one call resolves the names a client shows, members who left included; the service sets them', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 2);
  const [gwA, gwB] = gateways as [Gateway, Gateway];
  const named = (user: string, name: string) => stack.token(user, { claims: { name, avatar: `https://img.example/${user}.png` } });
  const lookup = (gw: Gateway, token: string, ids: unknown) => stack.http(gw, 'POST', '/api/users/profiles', token, { user_ids: ids });

  // Alice and Bob share a room; Carol wrote in it and left; Dave shares nothing with Bob.
  const room = await stack.createGroup('alice', ['bob', 'carol'], gateways[0]);
  for (const [user, name] of [
    ['alice', 'Alice'],
    ['carol', 'Carol'],
    ['dave', 'Dave'],
  ] as const) {
    t.equal((await stack.http(gwA, 'GET', '/api/chats', named(user, name))).status, 200, `${user} used a token with a name`);
  }
  const wrote = await stack.http(gwA, 'POST', `/api/chats/${room}/messages`, named('carol', 'Carol'), {
    client_id: 'c1',
    message_type: 'text',
    content: 'bye all',
  });
  t.equal(wrote.status, 201);
  t.equal((await stack.http(gwA, 'POST', `/api/chats/${room}/leave`, named('carol', 'Carol'))).status, 204);
  // Who wrote in a room is read from Postgres: once the persister has written Carol's message.
  await eventually(async () => (await stack.streamLength()) === 0 && (await stack.pendingCount()) === 0, 20_000, 'the messages persisted');
  const bob = stack.token('bob');
  t.match(await lookup(gwB, bob, ['alice', 'bob', 'carol', 'dave', 'nobody']), {
    status: 200,
    body: {
      users: [
        { user_id: 'alice', name: 'Alice', avatar: 'https://img.example/alice.png' },
        { user_id: 'bob', name: null, avatar: null },
        { user_id: 'carol', name: 'Carol', avatar: 'https://img.example/carol.png' },
      ],
    },
  });
  t.equal((await lookup(gwB, bob, ['dave'])).body.users.length, 0, 'someone who shares nothing with the caller is left out');

  // The service names a user before they ever used a token; a token without name claims keeps it.
  const svc = TEST_SERVICE_TOKEN;
  t.equal((await stack.http(gwA, 'PUT', '/api/service/users/erin', svc, { name: '药师 Erin', avatar: 'https://img.example/erin.png' })).status, 204);
  t.equal((await stack.http(gwA, 'POST', `/api/chats/${room}/participants`, stack.token('alice'), { user_id: 'erin' })).status, 201);
  t.match((await lookup(gwB, bob, ['erin'])).body.users, [{ user_id: 'erin', name: '药师 Erin' }]);
  t.equal((await stack.http(gwB, 'GET', '/api/chats', stack.token('erin'))).status, 200, 'Erin uses a token with no name');
  t.match((await lookup(gwA, bob, ['erin'])).body.users, [{ user_id: 'erin', name: '药师 Erin', avatar: 'https://img.example/erin.png' }], 'the name stays');
  t.equal((await stack.http(gwA, 'PUT', '/api/service/users/erin', svc, { avatar: null })).status, 204);
  t.match((await lookup(gwA, bob, ['erin'])).body.users, [{ name: '药师 Erin', avatar: null }], 'null clears a field, one left out stays');

  // Limits and refusals.
  t.match(await lookup(gwA, bob, []), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(
    await lookup(
      gwA,
      bob,
      Array.from({ length: 101 }, (_, i) => `u${i}`),
    ),
    { status: 400, body: { code: 'REQUEST_INVALID' } },
  );
  t.match(await lookup(gwA, bob, ['a', 'a']), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(await stack.http(gwA, 'PUT', '/api/service/users/erin', svc, {}), { status: 400, body: { code: 'REQUEST_INVALID' } }, 'nothing to set');
  t.match(await stack.http(gwA, 'PUT', '/api/service/users/erin', svc, { name: '' }), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(
    await stack.http(gwA, 'PUT', '/api/service/users/erin', bob, { name: 'Mallory' }),
    { status: 401, body: { code: 'AUTH_TOKEN_INVALID' } },
    'a user token sets no profile',
  );
});

t.test('an avatar a browser would run is never stored or served: refused by the service, dropped from claims', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 1);
  const gw = gateways[0]!;
  const svc = TEST_SERVICE_TOKEN;
  const profile = async (user: string) => (await stack.http(gw, 'POST', '/api/users/profiles', stack.token(user), { user_ids: [user] })).body.users[0];
  for (const avatar of ['javascript:alert(1)', 'data:image/svg+xml,<svg onload=alert(1)>', 'http://img.example/a.png', '/a.png']) {
    t.match(
      await stack.http(gw, 'PUT', '/api/service/users/frank', svc, { avatar }),
      { status: 400, body: { code: 'REQUEST_INVALID', message: /https: URL/ } },
      `the service API refuses ${avatar}`,
    );
  }
  t.equal((await stack.http(gw, 'PUT', '/api/service/users/frank', svc, { avatar: 'https://img.example/f.png' })).status, 204);
  t.match(await profile('frank'), { avatar: 'https://img.example/f.png' });
  const evil = stack.token('frank', { claims: { name: 'Frank', avatar: 'javascript:alert(1)' } });
  t.equal((await stack.http(gw, 'GET', '/api/chats', evil)).status, 200, 'the token itself is good');
  t.match(await profile('frank'), { name: 'Frank', avatar: 'https://img.example/f.png' }, 'its avatar claim was dropped, the stored one stays');
  const grace = stack.token('grace', { claims: { avatar: 'javascript:alert(1)' } });
  t.equal((await stack.http(gw, 'GET', '/api/chats', grace)).status, 200);
  t.match(await profile('grace'), { user_id: 'grace', avatar: null }, 'a new user with a bad avatar claim has none');
});

t.test('the directory: every user with profile and presence, for the service and global admins; users see only whom they share a room with', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const [gwA, gwB] = (await inProcessGateways(t, stack, 2)) as [Gateway, Gateway];
  const svc = TEST_SERVICE_TOKEN;
  await stack.createGroup('alice', ['bob'], gwA);
  await stack.createGroup('carol', ['dave'], gwA);
  // Named by the customer's backend before ever connecting.
  t.equal((await stack.http(gwA, 'PUT', '/api/service/users/erin', svc, { name: 'Erin Example' })).status, 204);
  t.equal((await stack.http(gwB, 'PUT', '/api/service/users/e_1', svc, { name: 'Underscore' })).status, 204);
  const ids = (res: { body: { users: Array<{ user_id: string }> } }) => res.body.users.map((u) => u.user_id);

  const all = await stack.http(gwB, 'GET', '/api/service/users', svc);
  t.same(ids(all), ['alice', 'bob', 'carol', 'dave', 'e_1', 'erin'], 'the service lists every user, by id');
  t.match(
    all.body.users.find((u: { user_id: string }) => u.user_id === 'erin'),
    { name: 'Erin Example', avatar: null, state: 'offline' },
    'with the name the backend set, before any connection',
  );
  t.same(ids(await stack.http(gwB, 'GET', '/api/service/users?limit=2&skip=1', svc)), ['bob', 'carol'], 'paged');
  t.same(ids(await stack.http(gwA, 'GET', '/api/service/users?q=ERIN', svc)), ['erin'], 'q: names start with it, case-insensitively');
  t.same(ids(await stack.http(gwA, 'GET', '/api/service/users?q=e_', svc)), ['e_1'], 'q: _ is literal (not any character)');
  t.same(ids(await stack.http(gwA, 'GET', `/api/service/users?q=${encodeURIComponent('%')}`, svc)), [], 'q: % is literal');
  t.match(await stack.http(gwA, 'GET', '/api/service/users?limit=201', svc), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(await stack.http(gwA, 'GET', '/api/service/users', stack.token('alice')), { status: 401 }, 'not with a user token');

  const root = stack.token('root', { claims: { role: 'admin' } });
  t.same(ids(await stack.http(gwA, 'GET', '/api/users?scope=all&q=d', root)), ['dave'], 'a global admin: scope=all');
  t.match(
    await stack.http(gwA, 'GET', '/api/users?scope=all', stack.token('alice')),
    { status: 403, body: { code: 'ADMIN_REQUIRED' } },
    'others may not list everyone',
  );
  t.same(ids(await stack.http(gwB, 'GET', '/api/users', stack.token('alice'))), ['bob'], 'a user sees whom they share a room with');
});
