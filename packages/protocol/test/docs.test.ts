import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { clientFrames, closeCodes, errors, serverFrames } from '@parley/protocol';

const doc = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

t.test('docs/errors.md lists every error code with its status, and every close code', async (t) => {
  const page = doc('errors.md');
  for (const [code, { status }] of Object.entries(errors)) {
    t.match(page, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `${code} (${status})`);
  }
  for (const [name, { code }] of Object.entries(closeCodes)) {
    t.match(page, new RegExp(`\\| ${code} \\| \`${name}\` \\|`), `close ${code} ${name}`);
  }
});

t.test('docs/protocol.md documents every frame type', async (t) => {
  const page = doc('protocol.md');
  for (const type of [...Object.keys(clientFrames), ...Object.keys(serverFrames)]) {
    t.match(page, new RegExp(`### \`${type}\``), `frame ${type}`);
  }
});

t.test('docs/seeds.md covers every seed, and each row names a test that exists or the open issue it awaits', async (t) => {
  const page = doc('seeds.md');
  // The seeds live beside the checkout, not in it: a fresh clone elsewhere checks the five known.
  const dir = new URL('../../../../shared/seeds/', import.meta.url);
  const seeds = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{3}_/.test(f)).map((f) => f.slice(0, 3)) : ['000', '001', '002', '003', '004'];
  for (const seed of seeds) t.match(page, new RegExp(`^## Seed ${seed}:`, 'm'), `seed ${seed} has a section`);
  const rows = page.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| seed feature') && !l.startsWith('|---'));
  t.ok(rows.length > 50, `${rows.length} rows`);
  for (const row of rows) {
    const last = row.split(' | ').at(-1)!.replace(/ \|$/, '');
    const tests = [...last.matchAll(/`([^`]+\.test\.ts)`/g)].map((m) => m[1]!);
    if (tests.length === 0) {
      t.match(last, /^(issues? [\d, ]+ \(open\)|—)$/, `no test, so an open issue (or "—"): ${row.slice(0, 60)}`);
      continue;
    }
    for (const file of tests) t.ok(existsSync(new URL(`../../../${file}`, import.meta.url)), `${file} exists`);
  }
});
