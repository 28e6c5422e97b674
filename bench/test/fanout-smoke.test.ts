import t from 'tap';
import { benchSystems, runFanout } from '../fanout.js';

// A few seconds of the fan-out benchmark, so that it cannot rot. It checks delivery, never speed.
t.test('the fan-out benchmark delivers everything on every system', async (t) => {
  const results = await runFanout({
    workloads: [{ name: 'smoke', clients: 24, rooms: 3, rate: 40 }],
    rounds: 1,
    durationMs: 1000,
    warmupMs: 0,
  });
  const rows = results.get('smoke') ?? [];
  t.same(rows.map((r) => r.system).sort(), [...benchSystems].sort());
  for (const row of rows) {
    t.ok(row.sent > 0, `${row.system}: sent ${row.sent}`);
    t.equal(row.delivered, row.expected, `${row.system}: ${row.delivered}/${row.expected} delivered`);
  }
  const lags = rows.find((r) => r.system === 'parley')?.searchLagMs ?? [];
  t.ok(lags.length > 0 && lags.every((l) => l !== undefined), `parley: search found each of the ${lags.length} probed messages`);
});
