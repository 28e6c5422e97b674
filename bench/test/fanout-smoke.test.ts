import t from 'tap';
import { benchSystems, runFanout, type FanoutOptions } from '../fanout.js';

/** A few seconds of 24 clients in 3 rooms. */
const smoke = (options: Partial<FanoutOptions> = {}) =>
  runFanout({ workloads: [{ name: 'smoke', clients: 24, rooms: 3, rate: 40 }], rounds: 1, durationMs: 1000, warmupMs: 0, ...options });

// A few seconds of the fan-out benchmark, so that it cannot rot. It checks delivery, never speed.
t.test('the fan-out benchmark delivers everything on every system', async (t) => {
  const results = await smoke();
  const rows = results.get('smoke') ?? [];
  t.same(rows.map((r) => r.system).sort(), [...benchSystems].sort());
  for (const row of rows) {
    t.ok(row.sent > 0, `${row.system}: sent ${row.sent}`);
    t.equal(row.delivered, row.expected, `${row.system}: ${row.delivered}/${row.expected} delivered`);
  }
  const lags = rows.find((r) => r.system === 'parley')?.searchLagMs ?? [];
  t.ok(lags.length > 0 && lags.every((l) => l !== undefined), `parley: search found each of the ${lags.length} probed messages`);
});

t.test('cold rounds: new clients each round, sending from the last welcome; the first seconds and the loop delay reported', async (t) => {
  const results = await smoke({ rounds: 2, cold: true, systems: ['parley'] });
  const rows = results.get('smoke') ?? [];
  t.equal(rows.length, 2, 'a row per round');
  for (const row of rows) {
    t.equal(row.delivered, row.expected, `${row.delivered}/${row.expected} delivered`);
    t.ok(row.firstP99 > 0, `p99 over the first seconds: ${row.firstP99} ms`);
    t.ok(Number.isFinite(row.loopDelayP99), `the gateways' event-loop delay p99: ${row.loopDelayP99} ms`);
  }
});
