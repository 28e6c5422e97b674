import t from 'tap';
import { DeliveryGate } from '@parley/protocol';

/** A gate over string events, with what it delivered. */
function gate(cursor = 0) {
  const delivered: number[] = [];
  const g = new DeliveryGate<string>(cursor, (seq, item) => {
    if (item !== `e${seq}`) throw new Error(`seq ${seq} delivered ${item}`);
    delivered.push(seq);
  });
  return {
    g,
    delivered,
    offer: (...seqs: number[]) => seqs.forEach((s) => g.offer(s, `e${s}`)),
    fill: (...seqs: number[]) => seqs.forEach((s) => g.fill(s, `e${s}`)),
  };
}

t.test('live events: each seq once, in order; what is at or below the cursor is skipped', async (t) => {
  const { g, delivered, offer } = gate(3);
  offer(2, 3, 4, 5, 5, 4, 6);
  t.same(delivered, [4, 5, 6]);
  t.equal(g.cursor, 6);
});

t.test('hold: live events wait while the gap is filled; release delivers them, skipping what the fill did', async (t) => {
  const { g, delivered, offer, fill } = gate(3);
  g.hold();
  t.ok(g.holding);
  offer(6, 7);
  t.same(delivered, [], 'nothing delivered while held');
  t.equal(g.heldCount, 2);
  fill(4, 5, 6);
  t.same(delivered, [4, 5, 6], 'the fill goes past the hold');
  g.release();
  t.same(delivered, [4, 5, 6, 7], 'the held 6 is skipped: the fill delivered it');
  t.notOk(g.holding);
  offer(8);
  t.same(delivered, [4, 5, 6, 7, 8], 'live again');
});

t.test('a gap: an event that skips ahead of a known cursor; held, backfilled, then flushed', async (t) => {
  const { g, delivered, offer, fill } = gate(0);
  t.notOk(g.skipsAhead(9), 'no gap while the cursor is unknown');
  g.skipTo(4);
  t.notOk(g.skipsAhead(5));
  t.ok(g.skipsAhead(7), 'seq 7 after 4: 5 and 6 are missing');
  // What the relay does with it: hold, keep the event, backfill up to the one before it.
  g.hold();
  offer(7);
  offer(8);
  fill(5, 6);
  g.release();
  t.same(delivered, [5, 6, 7, 8]);
  g.skipTo(2);
  t.equal(g.cursor, 8, 'skipTo never moves back');
});

t.test('rewind: the cursor goes back to the floor, and what was held above it is dropped', async (t) => {
  const { g, delivered, offer, fill } = gate(10);
  g.hold();
  offer(9, 11, 12);
  t.ok(g.rewind(9), 'it moved');
  t.equal(g.cursor, 9);
  t.equal(g.heldCount, 1, 'only the held 9 is kept');
  fill(10, 11);
  g.release();
  t.same(delivered, [10, 11], 'the seqs above the floor are delivered again, from the new Redis; the held 9 is skipped');
  t.notOk(g.rewind(12), 'a floor at or above the cursor changes nothing');
  t.equal(g.cursor, 11);
});

t.test('the cursor can be ended: nothing more is delivered', async (t) => {
  const { g, delivered, offer } = gate(1);
  g.skipTo(Number.POSITIVE_INFINITY);
  offer(2, 3);
  t.same(delivered, []);
});

t.test('firstHeld: a hold that starts past the cursor shows the gap to fill before release', async (t) => {
  const delivered: number[] = [];
  const gate = new DeliveryGate<string>(5, (seq) => delivered.push(seq));
  gate.hold();
  t.equal(gate.firstHeld, undefined, 'nothing held yet');
  gate.offer(8, 'e8');
  gate.offer(9, 'e9');
  t.equal(gate.firstHeld, 8);
  t.ok(gate.skipsAhead(gate.firstHeld!), '6 and 7 came neither from the fill nor live');
  gate.fill(6, 'e6');
  gate.fill(7, 'e7');
  t.notOk(gate.skipsAhead(gate.firstHeld!), 'filled up to the first held');
  gate.release();
  t.same(delivered, [6, 7, 8, 9], 'then every seq once, in order');
});
