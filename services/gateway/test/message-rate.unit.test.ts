import t from 'tap';
import { MessageRate } from '../src/ws/message-rate.js';

t.test('a burst goes at once; the next message waits for the refill, as long as it names', async (t) => {
  const rate = new MessageRate(10, 3); // 10 a second, bursts of 3
  const now = 1_000_000;
  t.same([rate.take('alice', now), rate.take('alice', now), rate.take('alice', now)], [0, 0, 0], 'the burst');
  t.equal(rate.take('alice', now), 100, 'the fourth waits one token: 100 ms at 10 a second');
  t.equal(rate.take('alice', now + 50), 50, 'half a token later, half the wait');
  t.equal(rate.take('alice', now + 100), 0, 'a token refilled');
  t.equal(rate.take('alice', now + 100), 100, 'and spent');
});

t.test('refills stop at the burst, however long the user was quiet', async (t) => {
  const rate = new MessageRate(10, 2);
  t.equal(rate.take('bob', 0), 0);
  const later = 3_600_000;
  t.same([rate.take('bob', later), rate.take('bob', later)], [0, 0], 'two tokens after an hour');
  t.ok(rate.take('bob', later) > 0, 'not three');
});

t.test('users have buckets of their own, and a forgotten user starts full', async (t) => {
  const rate = new MessageRate(1, 1);
  t.equal(rate.take('carol', 0), 0);
  t.equal(rate.take('carol', 0), 1000, 'carol has to wait');
  t.equal(rate.take('dave', 0), 0, 'dave does not');
  rate.forget('carol');
  t.equal(rate.take('carol', 0), 0, 'after forget, a full bucket');
});
