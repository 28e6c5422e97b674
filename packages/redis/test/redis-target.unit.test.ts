import t from 'tap';
import { pairsOf, reconnectDelay, redisTargetOf } from '@parley/redis';

const url = 'redis://127.0.0.1:6379';

t.test('one server unless cluster nodes or sentinels are given', async (t) => {
  t.same(redisTargetOf({ REDIS_URL: url }), { mode: 'standalone', url });
  t.same(redisTargetOf({ REDIS_URL: url, REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' }), {
    mode: 'cluster',
    nodes: [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ],
  });
  t.same(
    redisTargetOf({ REDIS_URL: url, REDIS_SENTINELS: '[::1]:26379', REDIS_SENTINEL_MASTER: 'parley' }),
    { mode: 'sentinel', sentinels: [{ host: '::1', port: 26379 }], name: 'parley' },
    'an IPv6 sentinel in brackets',
  );
});

t.test('a setting that cannot mean anything is refused, saying why', async (t) => {
  t.throws(() => redisTargetOf({ REDIS_URL: url, REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 'b:2', REDIS_SENTINEL_MASTER: 'm' }), /not both/);
  t.throws(() => redisTargetOf({ REDIS_URL: url, REDIS_SENTINELS: 'b:2' }), /REDIS_SENTINEL_MASTER/);
  t.throws(() => redisTargetOf({ REDIS_URL: url, REDIS_SENTINEL_MASTER: 'm' }), /needs REDIS_SENTINELS/);
  t.throws(() => redisTargetOf({ REDIS_URL: url, REDIS_CLUSTER_NODES: '10.0.0.1' }), /"10.0.0.1" is not host:port/);
  t.throws(() => redisTargetOf({ REDIS_URL: url, REDIS_CLUSTER_NODES: 'h:70000' }), /is not host:port/);
});

t.test('reconnects wait 50 ms doubling to 2 s, with at most 200 ms of jitter', async (t) => {
  const waits = [1, 2, 3, 6, 7, 50].map((n) => reconnectDelay(n));
  const floors = [50, 100, 200, 1600, 2000, 2000];
  waits.forEach((w, i) => t.ok(w >= floors[i]! && w < floors[i]! + 200, `try ${[1, 2, 3, 6, 7, 50][i]}: ${w} ms`));
});

t.test('pairsOf reads a flat field list; a later field wins, an odd last item is dropped', async (t) => {
  t.same(pairsOf(['a', '1', 'b', '2', 'a', '3', 'c']), { a: '3', b: '2' });
  t.same(pairsOf([]), {});
});
