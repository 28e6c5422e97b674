import t from 'tap';
import { sql } from 'kysely';
import { fileURLToPath } from 'node:url';
// `parley …` runs in this process (callParley, the function main.ts calls) except where the command as
// typed is what is shown: migrate through npx, a live tail, a usage error's exit status.
import { callParley as parley, Child, eventually, parleyCli as cli, runParley, Stack, TestClient } from '@parley/testkit';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

t.test('parley: token, migrate, room, send, tail and status against a running cluster', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1, env: { PRESENCE_TTL_SECONDS: '3', PERSISTER_CONSUMER: 'persister-a' } });
  const [gw1, gw2] = stack.gateways;
  const env = { JWT_SECRET: stack.env.JWT_SECRET!, REDIS_URL: stack.env.REDIS_URL!, PRESENCE_TTL_SECONDS: '3' };

  const minted = await parley(env, 'token', 'bob', '--name', 'Bob', '--ttl', '600');
  t.equal(minted.code, 0);
  const { client: bob, welcome } = await TestClient.open(gw2!.wsUrl, minted.lines[0]!);
  t.teardown(() => bob.close());
  t.equal(welcome.user_id, 'bob', 'token: its token opens a socket');

  // migrate: a fresh database gets the whole schema; a second run has nothing to do. The first as
  // the README writes it, through npx (the command is linked on install, before any build).
  await sql`create database fresh`.execute(stack.db);
  const fresh = { ...env, DATABASE_URL: stack.env.DATABASE_URL!.replace(/\/[^/]+$/, '/fresh') };
  const viaNpx = new Child('npx-parley-migrate', 'bash', ['-c', 'npx parley migrate'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...fresh },
  });
  const first = { code: (await viaNpx.exited).code, lines: viaNpx.lines };
  t.equal(first.code, 0);
  t.match(first.lines.join('\n'), /^applied: 0001_.*0006_files/m, 'migrate: every migration applied');
  t.match((await parley(fresh, 'migrate')).lines, ['schema is up to date']);

  const created = await parley({ ...env, PARLEY_URL: gw1!.url }, 'room', 'create', 'Pharmacy', '--as', 'alice', '--member', 'bob');
  t.equal(created.code, 0);
  t.match(created.json, { type: 'group', name: 'Pharmacy', is_public: true }, 'room create: the room, as JSON');
  const room = created.json.id as number;
  await bob.next('chat_added');
  const direct = await parley({ ...env, PARLEY_URL: gw1!.url }, 'room', 'direct', 'bob', '--as', 'alice');
  t.match(direct.json, { type: 'direct' }, 'room direct');

  // tail on one gateway, send through the other.
  const tail = await parley(env, 'tail', String(room), '--as', 'carol', '--url', gw2!.url);
  t.equal(tail.code, 1, 'tail refuses a room the user is not in');
  t.match(tail.lines.join('\n'), /ROOM_NOT_MEMBER/);
  const live = new Child('parley-tail', process.execPath, [cli, 'tail', String(room), '--as', 'bob', '--count', '2', '--url', gw2!.url], {
    env: { PATH: process.env.PATH, ...env },
  });
  await live.waitFor(/tailing chat/);
  const sent = await parley({ ...env, PARLEY_URL: gw1!.url }, 'send', String(room), '请问药师在吗', '--as', 'alice', '--client-id', 'cli-1');
  t.match(sent.json, { chat_id: room, seq: 1, duplicate: false }, 'send: the ack');
  t.match(
    (await parley({ ...env, PARLEY_URL: gw1!.url }, 'send', String(room), '请问药师在吗', '--as', 'alice', '--client-id', 'cli-1')).json,
    { seq: 1, duplicate: true },
    'the same --client-id is sent once',
  );
  t.match((await parley({ ...env, PARLEY_URL: gw1!.url }, 'send', String(room), 'second', '--as', 'alice')).json, { seq: 2 });
  t.equal((await live.exited).code, 0, 'tail stops after --count events');
  const events = live.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  t.match(
    events,
    [
      { seq: 1, type: 'message', content: '请问药师在吗', sender_id: 'alice' },
      { seq: 2, content: 'second' },
    ],
    'tail: each event once, live, in order',
  );
  const replay = await parley({ ...env, PARLEY_URL: gw1!.url }, 'tail', String(room), '--as', 'bob', '--from', '1', '--count', '1');
  t.match(JSON.parse(replay.lines.find((l) => l.startsWith('{'))!), { seq: 2 }, 'tail --from replays what came after');

  // status: both gateways with their sockets, and the persister's lag.
  const status = await eventually(
    async () => {
      const s = (await parley(env, 'status', '--json')).json;
      const drained = s.persister.stream_length === 0;
      return drained && s.gateways.length === 2 && s.gateways.some((g: { sockets: number }) => g.sockets === 1) ? s : undefined;
    },
    10_000,
    'status sees both gateways, bob, and the persister done with the sends',
  );
  t.match(
    status.gateways.find((g: { node: string }) => g.node === gw2!.nodeId),
    { sockets: 1, users: 1 },
    "status: bob's socket on gateway 2",
  );
  t.match(status.persister, { stream_length: 0, pending: 0, dead_letters: 0, consumers: [{ name: 'persister-a' }] });
  await stack.persisters[0]!.kill('SIGKILL');
  await parley({ ...env, PARLEY_URL: gw1!.url }, 'send', String(room), 'while no persister runs', '--as', 'alice');
  t.match((await parley(env, 'status', '--json')).json.persister, { stream_length: 1 }, 'status: the backlog while no persister runs');
  t.match((await parley(env, 'status')).lines.join('\n'), /gateways alive: 2[\s\S]*persister lag: stream 1, pending 0/, 'status prints a summary for people');

  const refused = await parley({ ...env, PARLEY_URL: gw1!.url }, 'send', String(room), 'hi', '--as', 'mallory');
  t.equal(refused.code, 1, 'a refused call exits 1');
  t.match(refused.lines.join('\n'), /parley: ROOM_NOT_MEMBER/);
  const unknown = await runParley(env, 'frobnicate');
  t.equal(unknown.code, 2, 'a usage error exits 2, with the usage');
  t.match(unknown.lines.join('\n'), /unknown command "frobnicate"[\s\S]*usage: parley/);
  t.equal((await parley({}, 'send', String(room), 'hi')).code, 2, 'no token and no JWT_SECRET: a usage error');
  // The settings the services share are read and checked as the services read them.
  for (const [name, value] of [
    ['REDIS_PARTITIONS', 'many'],
    ['PRESENCE_TTL_SECONDS', '1'],
  ] as const) {
    const bad = await parley({ ...env, [name]: value }, 'status');
    t.equal(bad.code, 1, `a bad ${name} exits 1`);
    t.match(bad.lines.join('\n'), new RegExp(`parley: .*${name}`), 'naming it');
  }
});
