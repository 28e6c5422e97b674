import t from 'tap';
import { createKeys, scriptCallKeys, scriptKeys, slotOf, SLOTS } from '@parley/redis';

const rooms = [1, 2, 3, 42, 127, 128, 1000, 65_537, 2 ** 31 - 1];
const users = ['alice', 'u-7f3a', '用户', 'a}b{c', ''];

t.test('every script call declares keys of one slot, and its channel lies in that slot too', async (t) => {
  for (const partitions of [1, 3, 16, 128]) {
    const keys = createKeys({ prefix: 'test:', partitions });
    const call = scriptCallKeys(keys);
    const calls: Array<[string, string[], string?]> = [];
    for (const room of rooms) {
      for (const user of users) calls.push(['roomAppend', scriptKeys('roomAppend', call.roomAppend(room, user, 'c-1')), keys.roomChannel(room)]);
      calls.push(['roomMembersFill', scriptKeys('roomMembersFill', call.roomMembersFill(room))]);
      calls.push(['roomPersisted', scriptKeys('roomPersisted', call.roomPersisted(room))]);
      calls.push(['positionMark', scriptKeys('positionMark', call.positionMark(room)), keys.roomChannel(room)]);
      calls.push(['roomReconcile', scriptKeys('roomReconcile', call.roomReconcile(room))]);
      calls.push(['streamAck', scriptKeys('streamAck', call.streamAck(keys.partitionOf(room)))]);
      // The persister acks and dead-letters in one MULTI per partition; the CLI's retry moves a letter back in one.
      calls.push(['room dead seqs', [keys.roomMeta(room), keys.roomDeadSeqs(room)]]);
      calls.push([
        'partition streams',
        [
          keys.eventStream(keys.partitionOf(room)),
          keys.deadLetters(keys.partitionOf(room)),
          keys.partitionIncarnation(keys.partitionOf(room)),
          keys.roomLog(room),
        ],
      ]);
    }
    for (const user of users) {
      calls.push(['positionRaise', scriptKeys('positionRaise', call.positionRaise(user)), keys.userChannel(user)]);
      calls.push(['userPositionsFill', scriptKeys('userPositionsFill', call.userPositionsFill(user))]);
    }
    // presence-leave reads the other gateways' hashes it is given.
    calls.push(['presenceLeave', [...scriptKeys('presenceLeave', call.presenceLeave('n1')), keys.presenceNode('n2'), keys.presenceNode('n3')]]);
    // Presence is read in one pipeline over the global keys.
    calls.push([
      'global',
      [keys.presenceNodes(), keys.presenceNode('n1'), keys.nodeSockets(), keys.presenceLastSeen(), keys.revokedTokens(), keys.partitionCount(), keys.epochs()],
    ]);
    let bad = 0;
    for (const [name, declared, channel] of calls) {
      const slots = new Set([...declared, ...(channel ? [channel] : [])].map(slotOf));
      if (slots.size !== 1) {
        bad++;
        t.fail(`${name} (${partitions} partitions) spans slots ${[...slots].join(', ')}: ${declared.join(' ')}`);
      }
    }
    t.equal(bad, 0, `${partitions} partitions: ${calls.length} calls, each in one slot`);
  }
});

t.test('rooms spread over the partitions, and the partitions over the slot space', async (t) => {
  const keys = createKeys({ partitions: 128 });
  const slots = new Set(Array.from({ length: 128 }, (_, p) => slotOf(keys.eventStream(p))));
  t.equal(slots.size, 128, 'each partition its own slot');
  t.ok(Math.min(...slots) < SLOTS / 128 && Math.max(...slots) >= SLOTS - SLOTS / 128, 'from the first run of slots to the last');
  const perPartition = new Map<number, number>();
  for (let room = 1; room <= 12_800; room++) perPartition.set(keys.partitionOf(room), (perPartition.get(keys.partitionOf(room)) ?? 0) + 1);
  t.equal(perPartition.size, 128, 'every partition holds rooms');
  t.equal(slotOf(keys.roomMeta(7)), slotOf(keys.eventStream(keys.partitionOf(7))), "a room's keys lie in its partition's slot");
  t.equal(keys.roomOfMeta(keys.roomMeta(65_537)), 65_537, 'a meta key names its room');
  t.equal(keys.roomOfMeta(keys.roomLog(3)), undefined, 'another key does not');
  t.equal(keys.roomOfMeta(keys.roomMeta(3).replace(/\{[^}]*\}/, '{p0-0}')), keys.partitionOf(3) === 0 ? 3 : undefined, 'nor a meta key in the wrong partition');
  t.throws(() => keys.eventStream(128), /no partition 128 of 128/);
  t.throws(() => createKeys({ prefix: 'a{b' }), /must not contain/);
});
