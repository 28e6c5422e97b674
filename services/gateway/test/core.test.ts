import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createGroupRoom } from '@parley/db';
import { closeRedis, connectRedis, createScripts } from '@parley/redis';
import { Stack } from '@parley/testkit';
import { loadConfig } from '../src/config.js';
import { GatewayCore } from '../src/core.js';
import { GatewayMetrics } from '../src/metrics.js';
import { appendMessage } from '../src/messages/append-message.js';
import { deleteMessage, editMessage, targetMessage } from '../src/messages/change-message.js';
import type { Caller } from '../src/plugins/auth.js';

t.test('the core is built from explicit parts, and its domain functions run without Fastify', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const config = loadConfig({ ...stack.env, NODE_ID: 'core-test' });
  const redis = connectRedis(config.redis, 'core-test');
  const redisSubscriber = connectRedis(config.redis, 'core-test-sub');
  t.teardown(async () => {
    await closeRedis(redisSubscriber);
    await closeRedis(redis);
  });
  const core = new GatewayCore({
    config,
    redis,
    redisSubscriber,
    db: stack.db,
    keys: stack.keys,
    scripts: createScripts(redis, stack.keys),
    log: pino({ enabled: false }),
    metrics: new GatewayMetrics(config.nodeId),
  });
  await core.start();
  t.teardown(() => core.stop());

  const roomId = (await createGroupRoom(stack.db, 'alice', { name: 'core', isPublic: false, memberIds: ['bob'] })).id;
  const alice: Caller = { id: 'alice', name: null, avatar: null, role: null, isAdmin: false, expiresAt: Date.now() + 60_000, jti: undefined };
  const ack = await appendMessage(core, { roomId, senderId: 'alice', clientId: 'c-1', messageType: 'text', content: 'see you at 3' });
  t.match(ack, { seq: 1, duplicate: false }, 'a message appended through the core');
  t.match(await editMessage(core, alice, roomId, 1, 'e-1', 'see you at 4'), { seq: 2 });
  t.match(await targetMessage(core, roomId, 1, alice), { content: 'see you at 4', edited_at: /./ }, 'read back with its edit folded in');
  t.match(
    await deleteMessage(core, { ...alice, id: 'bob' }, roomId, 1, false).catch((err: Error) => err),
    { code: 'MESSAGE_NOT_SENDER' },
    'and its rules hold',
  );
  t.same(
    (await core.roomEvents.range(roomId, 1, 2)).map((e) => e.seq),
    [1, 2],
  );
});

t.test('no domain function takes the FastifyInstance', async (t) => {
  const src = new URL('../src/', import.meta.url);
  // Fastify's own files: the app, its plugins, the WebSocket route, and the drain of the server.
  const fastifyFiles = ['app.ts', 'drain.ts', 'ws/endpoint.ts'];
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && !f.startsWith('plugins/') && !fastifyFiles.includes(f),
  );
  t.ok(files.includes('messages/append-message.ts') && files.includes('ws/connection.ts'), `${files.length} files`);
  const using = files.filter((f) => /import[^;]*\bFastifyInstance\b[^;]*from 'fastify'/.test(readFileSync(join(src.pathname, f), 'utf8')));
  t.same(using, [], 'they take the GatewayCore');
});
