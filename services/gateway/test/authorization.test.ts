import t from 'tap';
import { mastersOf } from '@parley/redis';
import { HandshakeRefused, Stack, TestClient, TEST_SERVICE_TOKEN } from '@parley/testkit';
import { sql } from 'kysely';

/**
 * The authorization matrix: every room route, service route and frame, tried by each kind of caller
 * against a fresh private group room. Each outcome is asserted; a refused call must leave Postgres
 * and Redis exactly as they were, and an accepted change must not (so the comparison can fail).
 * No persister runs, so nothing else moves the state between the two snapshots.
 */

/**
 * A digest of one Redis server's keys and values, but those ending in `:members` and those starting
 * with ARGV's prefixes: `<count>:<sha1>`, keys in sorted order.
 */
const digestKeys = `
local keys = redis.call('KEYS', '*')
table.sort(keys)
local parts = {}
for _, key in ipairs(keys) do
  local skip = key:sub(-8) == ':members'
  for i = 1, #ARGV do
    if key:sub(1, #ARGV[i]) == ARGV[i] then skip = true end
  end
  if not skip then
    parts[#parts + 1] = key
    parts[#parts + 1] = redis.call('DUMP', key)
  end
end
return (#parts / 2) .. ':' .. redis.sha1hex(table.concat(parts, '\\0'))
`;

type Actor = 'outsider' | 'member' | 'room admin' | 'creator' | 'global admin' | 'service';
const actors: Actor[] = ['outsider', 'member', 'room admin', 'creator', 'global admin', 'service'];
const userOf: Record<Exclude<Actor, 'service'>, string> = {
  outsider: 'outsider',
  member: 'member',
  'room admin': 'roomadmin',
  creator: 'creator',
  'global admin': 'global',
};

interface Outcome {
  status: number | 'ack' | 'error' | 'welcome' | 'read_state' | 'pong';
  code?: string;
  /** Whether the call changes the stored state. */
  changes: boolean;
}
const did = (status: Outcome['status']): Outcome => ({ status, changes: true });
const ok = (status: Outcome['status']): Outcome => ({ status, changes: false });
const no = (status: Outcome['status'], code: string): Outcome => ({ status, code, changes: false });
const notUser = no(401, 'AUTH_TOKEN_INVALID');
const notMember = no(403, 'ROOM_NOT_MEMBER');

interface Fixture {
  room: number;
  /** The caller's own room (a forward target). */
  own: number;
}
interface Result {
  status: Outcome['status'];
  code?: string;
}
interface Row {
  name: string;
  run: (actor: Actor, fx: Fixture) => Promise<Result>;
  expect: Record<Actor, Outcome>;
}

/** Outcomes of a user route: the service token is no user. */
const userRoute = (o: Omit<Record<Actor, Outcome>, 'service'>): Record<Actor, Outcome> => ({ ...o, service: notUser });
/** Outcomes of a service route: no user token opens it. */
const serviceRoute = (outcome: Outcome): Record<Actor, Outcome> => ({
  outsider: notUser,
  member: notUser,
  'room admin': notUser,
  creator: notUser,
  'global admin': notUser,
  service: outcome,
});
/** Members (member, room admin, creator) get `m`; outsiders and global admins (no members) get `other`. */
const membersOnly = (m: Outcome, other: Outcome = notMember) => userRoute({ outsider: other, member: m, 'room admin': m, creator: m, 'global admin': other });

t.test('authorization matrix: every route and frame of rooms and messages, by every kind of caller', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 0 });
  const gws = stack.gateways;
  let turn = 0;
  const gw = () => gws[turn++ % gws.length]!;
  const tokens = Object.fromEntries(
    Object.entries(userOf).map(([actor, sub]) => [actor, stack.token(sub, actor === 'global admin' ? { claims: { role: 'admin' } } : {})]),
  ) as Record<Exclude<Actor, 'service'>, string>;
  const tokenOf = (actor: Actor) => (actor === 'service' ? TEST_SERVICE_TOKEN : tokens[actor]);
  const svc = (method: string, path: string, body?: unknown) => stack.http(gw(), method, path, TEST_SERVICE_TOKEN, body);
  const http = async (actor: Actor, method: string, path: string, body?: unknown): Promise<Result> => {
    const res = await stack.http(gw(), method, path, tokenOf(actor), body);
    return { status: res.status, code: res.body?.code };
  };

  // Every user is seen by every gateway first: a first sight writes the profile, which is no refusal's doing.
  for (const g of gws) for (const token of Object.values(tokens)) await stack.http(g, 'GET', '/api/chats', token);
  const own = new Map<Actor, number>();
  for (const actor of actors) {
    const res = await svc('POST', '/api/service/chats', {
      type: 'group',
      name: 'own',
      is_public: false,
      created_by: actor === 'service' ? 'creator' : userOf[actor],
    });
    own.set(actor, res.body.id);
  }
  // Each caller's socket, for the send_message frame (a socket sends to any room its user is in).
  const sockets = new Map<Actor, TestClient>();
  for (const [i, actor] of actors.entries()) {
    if (actor === 'service') continue;
    const { client } = await TestClient.open(gws[i % gws.length]!.wsUrl, tokenOf(actor));
    sockets.set(actor, client);
    t.teardown(() => client.close());
  }

  /** A private group: creator (its admin), roomadmin (promoted: seq 1), member (who sent seq 2). */
  async function fixture(actor: Actor): Promise<Fixture> {
    const created = await svc('POST', '/api/service/chats', {
      type: 'group',
      name: 'matrix',
      is_public: false,
      created_by: 'creator',
      member_ids: ['roomadmin', 'member'],
    });
    const room = created.body.id as number;
    const promoted = await svc('PATCH', `/api/service/chats/${room}/participants/roomadmin`, { role: 'admin' });
    const sent = await stack.http(gw(), 'POST', `/api/chats/${room}/messages`, tokens.member, {
      client_id: 'm-1',
      message_type: 'text',
      content: 'hello matrix',
    });
    if (created.status !== 201 || promoted.status !== 200 || sent.status !== 201) throw new Error('fixture failed');
    return { room, own: own.get(actor)! };
  }

  /**
   * Everything stored, as digests made where it is stored: each Postgres table's rows, and every
   * Redis key (DUMP: every type, stream entries included) but the member caches (refilled by reads),
   * presence (the gateways' heartbeats rewrite it; sockets opening are not changes) and the REST rate
   * counters (every call counts, refused or not). The state grows with each fixture; digests keep
   * the ~430 snapshots and their comparison from growing with it (they once took most of the file's
   * time), and a refused call that changed anything anywhere still changes its digest.
   */
  async function snapshot(): Promise<Record<string, string>> {
    const tables = ['rooms', 'room_members', 'messages', 'users'] as const;
    const pg = await sql<Record<string, string>>`select ${sql.join(
      tables.map(
        (table) =>
          sql`(select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from ${sql.table(table)} t) as ${sql.ref(table)}`,
      ),
    )}`.execute(stack.db);
    const redis = await Promise.all(mastersOf(stack.redis).map((node) => node.eval(digestKeys, 0, '{parley}:presence:', 'parley:rate:') as Promise<string>));
    return { ...pg.rows[0]!, ...Object.fromEntries(redis.map((digest, i) => [`redis ${i}`, digest])) };
  }

  const m = (fx: Fixture, rest = '') => `/api/chats/${fx.room}${rest}`;
  const s = (fx: Fixture, rest = '') => `/api/service/chats/${fx.room}${rest}`;
  const rows: Row[] = [
    {
      name: 'GET /api/chats?scope=visible lists the private room to its members only',
      run: async (actor, fx) => {
        const res = await stack.http(gw(), 'GET', '/api/chats?scope=visible&limit=100', tokenOf(actor));
        if (res.status !== 200) return { status: res.status, code: res.body?.code };
        return { status: res.body.chats.some((c: { id: number }) => c.id === fx.room) ? 200 : 404 };
      },
      expect: membersOnly(ok(200), ok(404)),
    },
    {
      name: 'GET /api/chats/:id',
      run: (a, fx) => http(a, 'GET', m(fx)),
      expect: userRoute({ outsider: notMember, member: ok(200), 'room admin': ok(200), creator: ok(200), 'global admin': ok(200) }),
    },
    {
      name: 'GET /api/chats/:id/participants',
      run: (a, fx) => http(a, 'GET', m(fx, '/participants')),
      expect: userRoute({ outsider: notMember, member: ok(200), 'room admin': ok(200), creator: ok(200), 'global admin': ok(200) }),
    },
    { name: 'GET /api/chats/:id/messages', run: (a, fx) => http(a, 'GET', m(fx, '/messages')), expect: membersOnly(ok(200)) },
    {
      name: 'GET /api/messages/search?chat_id',
      run: (a, fx) => http(a, 'GET', `/api/messages/search?keyword=hello&chat_id=${fx.room}`),
      expect: membersOnly(ok(200)),
    },
    {
      name: 'POST /api/chats/:id/messages',
      run: (a, fx) => http(a, 'POST', m(fx, '/messages'), { client_id: 'x-1', message_type: 'text', content: 'hi' }),
      expect: membersOnly(did(201)),
    },
    {
      name: 'PATCH /api/chats/:id/messages/:seq (the member’s message)',
      run: (a, fx) => http(a, 'PATCH', m(fx, '/messages/2'), { client_id: 'x-2', content: 'edited' }),
      expect: userRoute({
        outsider: notMember,
        member: did(201),
        'room admin': no(403, 'MESSAGE_NOT_SENDER'),
        creator: no(403, 'MESSAGE_NOT_SENDER'),
        'global admin': notMember,
      }),
    },
    {
      name: 'DELETE /api/chats/:id/messages/:seq',
      run: (a, fx) => http(a, 'DELETE', m(fx, '/messages/2')),
      expect: userRoute({ outsider: notMember, member: did(201), 'room admin': did(201), creator: did(201), 'global admin': notMember }),
    },
    {
      name: 'POST /api/chats/:id/messages/:seq/recall',
      run: (a, fx) => http(a, 'POST', m(fx, '/messages/2/recall')),
      expect: userRoute({
        outsider: notMember,
        member: did(201),
        'room admin': no(403, 'MESSAGE_NOT_SENDER'),
        creator: no(403, 'MESSAGE_NOT_SENDER'),
        'global admin': notMember,
      }),
    },
    {
      name: 'POST /api/chats/:id/messages/:seq/forward (into the caller’s own room)',
      run: (a, fx) => http(a, 'POST', m(fx, '/messages/2/forward'), { client_id: 'x-3', chat_id: fx.own }),
      expect: membersOnly(did(201)),
    },
    // The member sent the newest message, and what you send you have read: nothing moves for them.
    {
      name: 'PUT /api/chats/:id/read',
      run: (a, fx) => http(a, 'PUT', m(fx, '/read')),
      expect: userRoute({ outsider: notMember, member: ok(200), 'room admin': did(200), creator: did(200), 'global admin': notMember }),
    },
    {
      name: 'GET /api/unread-count counts the room for its members only',
      run: async (actor, fx) => {
        const res = await stack.http(gw(), 'GET', '/api/unread-count', tokenOf(actor));
        if (res.status !== 200) return { status: res.status, code: res.body?.code };
        return { status: res.body.chats.some((c: { chat_id: number }) => c.chat_id === fx.room) ? 200 : 404 };
      },
      expect: membersOnly(ok(200), ok(404)),
    },
    {
      name: 'GET /api/chats/:id/messages/:seq/status',
      run: (a, fx) => http(a, 'GET', m(fx, '/messages/2/status')),
      expect: membersOnly(no(400, 'ROOM_NOT_DIRECT')),
    },
    { name: 'GET /api/chats/:id/online', run: (a, fx) => http(a, 'GET', m(fx, '/online')), expect: membersOnly(ok(200)) },
    { name: 'POST /api/chats/:id/join (private)', run: (a, fx) => http(a, 'POST', m(fx, '/join')), expect: membersOnly(ok(200), no(403, 'ROOM_PRIVATE')) },
    { name: 'POST /api/chats/:id/leave', run: (a, fx) => http(a, 'POST', m(fx, '/leave')), expect: membersOnly(did(204)) },
    {
      name: 'POST /api/chats/:id/participants',
      run: (a, fx) => http(a, 'POST', m(fx, '/participants'), { user_id: 'newcomer' }),
      expect: userRoute({ outsider: notMember, member: no(403, 'ROOM_NOT_ADMIN'), 'room admin': did(201), creator: did(201), 'global admin': did(201) }),
    },
    {
      name: 'PATCH /api/chats/:id/participants/:user_id (promote a member)',
      run: (a, fx) => http(a, 'PATCH', m(fx, '/participants/member'), { role: 'admin' }),
      expect: userRoute({ outsider: notMember, member: no(403, 'ROOM_NOT_ADMIN'), 'room admin': did(200), creator: did(200), 'global admin': did(200) }),
    },
    {
      name: 'PATCH /api/chats/:id/participants/:user_id (demote an admin)',
      run: (a, fx) => http(a, 'PATCH', m(fx, '/participants/roomadmin'), { role: 'member' }),
      expect: userRoute({
        outsider: notMember,
        member: no(403, 'ROOM_NOT_ADMIN'),
        'room admin': no(403, 'ROOM_NOT_CREATOR'),
        creator: did(200),
        'global admin': did(200),
      }),
    },
    {
      name: 'DELETE /api/chats/:id/participants/:user_id (a member; the member himself leaves)',
      run: (a, fx) => http(a, 'DELETE', m(fx, '/participants/member')),
      expect: userRoute({ outsider: notMember, member: did(204), 'room admin': did(204), creator: did(204), 'global admin': did(204) }),
    },
    {
      name: 'DELETE /api/chats/:id/participants/:user_id (an admin)',
      run: (a, fx) => http(a, 'DELETE', m(fx, '/participants/roomadmin')),
      expect: userRoute({ outsider: notMember, member: no(403, 'ROOM_NOT_ADMIN'), 'room admin': did(204), creator: did(204), 'global admin': did(204) }),
    },
    {
      name: 'DELETE /api/chats/:id',
      run: (a, fx) => http(a, 'DELETE', m(fx)),
      expect: userRoute({
        outsider: no(403, 'ROOM_NOT_CREATOR'),
        member: no(403, 'ROOM_NOT_CREATOR'),
        'room admin': no(403, 'ROOM_NOT_CREATOR'),
        creator: did(204),
        'global admin': did(204),
      }),
    },
    {
      name: 'POST /api/chats (official)',
      run: (a) => http(a, 'POST', '/api/chats', { type: 'group', name: 'official', is_official: true }),
      expect: userRoute({
        outsider: no(403, 'ROOM_OFFICIAL_FORBIDDEN'),
        member: no(403, 'ROOM_OFFICIAL_FORBIDDEN'),
        'room admin': no(403, 'ROOM_OFFICIAL_FORBIDDEN'),
        creator: no(403, 'ROOM_OFFICIAL_FORBIDDEN'),
        'global admin': did(201),
      }),
    },
    {
      name: 'POST /api/service/chats',
      run: (a) => http(a, 'POST', '/api/service/chats', { type: 'direct', user_ids: ['member', 'outsider'] }),
      expect: serviceRoute(did(201)),
    },
    { name: 'DELETE /api/service/chats/:id', run: (a, fx) => http(a, 'DELETE', s(fx)), expect: serviceRoute(did(204)) },
    {
      name: 'POST /api/service/chats/:id/participants',
      run: (a, fx) => http(a, 'POST', s(fx, '/participants'), { user_id: 'newcomer' }),
      expect: serviceRoute(did(201)),
    },
    {
      name: 'PATCH /api/service/chats/:id/participants/:user_id',
      run: (a, fx) => http(a, 'PATCH', s(fx, '/participants/member'), { role: 'admin' }),
      expect: serviceRoute(did(200)),
    },
    {
      name: 'DELETE /api/service/chats/:id/participants/:user_id',
      run: (a, fx) => http(a, 'DELETE', s(fx, '/participants/member')),
      expect: serviceRoute(did(204)),
    },
    {
      name: 'POST /api/service/chats/:id/messages',
      run: (a, fx) => http(a, 'POST', s(fx, '/messages'), { client_id: 'n-1', content: 'notice' }),
      expect: serviceRoute(did(201)),
    },
    {
      name: 'frame send_message',
      run: async (actor, fx) => {
        const socket = sockets.get(actor);
        if (!socket) return handshake(actor);
        const reply = await socket.sendMessage(fx.room, 'over the socket', `ws-${fx.room}`);
        return reply.type === 'error' ? { status: 'error', code: reply.code } : { status: 'ack' };
      },
      expect: membersOnly(did('ack'), no('error', 'ROOM_NOT_MEMBER')),
    },
    {
      name: 'frame mark_read',
      run: async (actor, fx) => {
        const socket = sockets.get(actor);
        if (!socket) return handshake(actor);
        const from = socket.frames.length;
        socket.send({ type: 'mark_read', chat_id: fx.room });
        const reply = await socket.find((f) => (f.type === 'read_state' && f.chat_id === fx.room) || f.type === 'error', 15_000, from);
        return reply.type === 'error' ? { status: 'error', code: reply.code } : { status: 'read_state' };
      },
      expect: userRoute({
        outsider: no('error', 'ROOM_NOT_MEMBER'),
        member: ok('read_state'),
        'room admin': did('read_state'),
        creator: did('read_state'),
        'global admin': no('error', 'ROOM_NOT_MEMBER'),
      }),
    },
    {
      name: 'frame received (delivery is kept in direct rooms only)',
      run: async (actor, fx) => {
        const socket = sockets.get(actor);
        if (!socket) return handshake(actor);
        const from = socket.frames.length;
        socket.send({ type: 'received', chat_id: fx.room, seq: 2 });
        const reply = await socket.find((f) => f.type === 'error', 15_000, from);
        return { status: 'error', code: reply.type === 'error' ? reply.code : undefined };
      },
      expect: membersOnly(no('error', 'ROOM_NOT_DIRECT'), no('error', 'ROOM_NOT_MEMBER')),
    },
    {
      name: 'frame typing (relayed, never stored)',
      run: async (actor, fx) => {
        const socket = sockets.get(actor);
        if (!socket) return handshake(actor);
        const from = socket.frames.length;
        socket.send({ type: 'typing', chat_id: fx.room, state: 'start' });
        socket.send({ type: 'ping' });
        const reply = await socket.find((f) => f.type === 'error' || f.type === 'pong', 15_000, from);
        return reply.type === 'error' ? { status: 'error', code: reply.code } : { status: 'pong' };
      },
      expect: membersOnly(ok('pong'), no('error', 'ROOM_NOT_MEMBER')),
    },
    {
      name: 'frame hello resuming the room from 0',
      run: async (actor, fx) => {
        if (actor === 'service') return handshake(actor);
        const { client, welcome } = await TestClient.open(gw().wsUrl, tokenOf(actor), [{ chat_id: fx.room, last_seq: 0 }]);
        try {
          if (welcome.chats.some((c) => c.chat_id === fx.room)) {
            await client.waitForSeq(fx.room, 2);
            return { status: 'welcome' };
          }
          await client.barrier();
          return client.frames.some((f) => 'chat_id' in f && f.chat_id === fx.room)
            ? { status: 'welcome', code: 'LEAKED' }
            : { status: 'welcome', code: 'ROOM_NOT_MEMBER' };
        } finally {
          await client.close();
        }
      },
      expect: membersOnly(ok('welcome'), no('welcome', 'ROOM_NOT_MEMBER')),
    },
  ];

  async function handshake(actor: Actor): Promise<Result> {
    try {
      const client = await TestClient.connect(gw().wsUrl, tokenOf(actor));
      await client.close();
      return { status: 101 };
    } catch (err) {
      if (!(err instanceof HandshakeRefused)) throw err;
      return { status: err.status, code: JSON.parse(err.body).code };
    }
  }

  for (const row of rows) {
    await t.test(row.name, async (t) => {
      for (const actor of actors) {
        const expected = row.expect[actor];
        const fx = await fixture(actor);
        const before = await snapshot();
        const result = await row.run(actor, fx);
        t.same(
          result,
          { status: expected.status, ...(expected.code ? { code: expected.code } : {}) },
          `${actor}: ${expected.status}${expected.code ? ` ${expected.code}` : ''}`,
        );
        const after = await snapshot();
        if (expected.changes) t.notSame(after, before, `${actor}: the change is stored`);
        else t.same(after, before, `${actor}: nothing changed in Postgres or Redis`);
      }
    });
  }
});
