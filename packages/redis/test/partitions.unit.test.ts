import t from 'tap';
import { fnv1a64, jumpHash, partitionOfRoom, partitionTags, slotOf as keySlot, SLOTS } from '@parley/redis';

/** The contiguous slot ranges of `shards` masters, as `redis-cli --cluster create` lays them out. */
const shardOfSlot = (slot: number, shards: number) => Math.min(shards - 1, Math.floor((slot * shards) / SLOTS));

/** How many of the tags land on each shard. */
const perShard = (tags: string[], shards: number) => {
  const counts = Array<number>(shards).fill(0);
  for (const tag of tags) counts[shardOfSlot(keySlot(`{${tag}}:x`), shards)]!++;
  return counts;
};

t.test('partition tags spread evenly over any number of contiguous shards', async (t) => {
  const tags = partitionTags(128);
  t.equal(new Set(tags).size, 128, '128 distinct tags');
  t.same(partitionTags(128), tags, 'the same table in every process');
  tags.forEach((tag, i) => {
    const slot = keySlot(`{${tag}}:room:1:meta`);
    if (slot < (i * SLOTS) / 128 || slot >= ((i + 1) * SLOTS) / 128) t.fail(`tag ${i} lies outside its run of slots`);
  });
  for (const shards of [3, 6, 16]) {
    const counts = perShard(tags, shards);
    t.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${shards} shards: ${counts.join(' ')}`);
  }
  t.same(perShard(tags, 16), Array(16).fill(8), '16 shards: exactly 8 each');
  const bare = perShard(
    Array.from({ length: 128 }, (_, i) => String(i)),
    16,
  );
  t.ok(Math.max(...bare) - Math.min(...bare) > 2, `bare {0}…{127} would not (16 shards: ${bare.join(' ')})`);
  t.throws(() => partitionTags(0), /from 1 to 16384/);
});

t.test('a room’s partition is stable, in range, even, and moves little when partitions grow', async (t) => {
  t.equal(fnv1a64(''), 0xcbf29ce484222325n, 'FNV-1a 64 offset basis');
  t.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn, 'FNV-1a 64 of "a"');
  // Reference values of jump consistent hash, as the Go implementation (dgryski/go-jump) tests them.
  t.same(
    [jumpHash(1n, 1), jumpHash(42n, 57), jumpHash(0xdead10ccn, 1), jumpHash(0xdead10ccn, 666), jumpHash(256n, 1024)],
    [0, 43, 0, 361, 520],
    'jump hash reference values',
  );
  t.equal(keySlot('123456789'), 12739, 'CRC16 of the Redis Cluster specification example');
  const rooms = Array.from({ length: 50_000 }, (_, i) => i + 1);
  const counts = Array<number>(128).fill(0);
  for (const room of rooms) counts[partitionOfRoom(room, 128)]!++;
  const mean = rooms.length / 128;
  t.ok(
    counts.every((c) => Math.abs(c - mean) < mean * 0.25),
    `50,000 rooms over 128 partitions: ${Math.min(...counts)}–${Math.max(...counts)} each`,
  );
  const moved = rooms.filter((room) => partitionOfRoom(room, 128) !== partitionOfRoom(room, 129)).length / rooms.length;
  t.ok(moved < 2 / 129, `128 → 129 partitions moves ${(moved * 100).toFixed(2)}% of rooms (about 1/129)`);
  t.ok(
    rooms.every((room) => partitionOfRoom(room, 128) === partitionOfRoom(room, 128)),
    'the same answer every time',
  );
});
