import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { clientFrames, closeCodes, errors, registerFormats, serverFrames } from '@parley/protocol';

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

/** The JSON values of a page's ```json blocks: one per line, or one spread over lines that start indented. */
function jsonExamples(page: string): unknown[] {
  const blocks = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) => block.split(/\n(?=\{)/).map((chunk) => JSON.parse(chunk) as unknown));
}

t.test('every frame example in docs/protocol.md is valid against its schema, and every frame type has one', async (t) => {
  registerFormats();
  const frames = jsonExamples(doc('protocol.md')).filter((v): v is { type: string } => typeof v === 'object' && v !== null && 'type' in v);
  const shown = new Set<string>();
  for (const frame of frames) {
    const schemas = [clientFrames[frame.type as keyof typeof clientFrames], serverFrames[frame.type as keyof typeof serverFrames]].filter(
      (s) => s !== undefined,
    );
    t.ok(schemas.length > 0, `${frame.type} is a frame type`);
    const valid = schemas.some((schema) => Value.Check(schema, frame));
    t.ok(valid, `the ${frame.type} example is valid`, valid ? {} : { errors: [...Value.Errors(schemas[0]!, frame)].map((e) => `${e.path} ${e.message}`) });
    if (valid) shown.add(frame.type);
  }
  for (const type of [...Object.keys(clientFrames), ...Object.keys(serverFrames)]) t.ok(shown.has(type), `${type} has a valid example`);
});

/** The text under `### \`type\`` (up to the next heading) within one part of the page. */
function section(part: string, type: string): string {
  const start = part.search(new RegExp(`^### \`${type}\``, 'm'));
  if (start < 0) return '';
  const next = part.slice(start + 4).search(/^##/m);
  return next < 0 ? part.slice(start) : part.slice(start, start + 4 + next);
}

t.test('docs/protocol.md names every field of every frame in its section', async (t) => {
  const page = doc('protocol.md');
  const clientPart = page.slice(page.indexOf('## Client → server'), page.indexOf('## Server → client'));
  const serverPart = page.slice(page.indexOf('## Server → client'), page.indexOf('## REST'));
  for (const [part, frames] of [
    [clientPart, clientFrames],
    [serverPart, serverFrames],
  ] as const) {
    for (const [type, schema] of Object.entries(frames)) {
      const text = section(part, type);
      for (const field of Object.keys((schema as { properties: Record<string, unknown> }).properties)) {
        t.ok(text.includes(`\`${field}\``) || text.includes(`"${field}":`), `${type}.${field}`);
      }
    }
  }
});

t.test('docs/seeds.md covers every seed, and each row names a test that exists or the open issue it awaits', async (t) => {
  const page = doc('seeds.md');
  // The seeds live beside the checkout, not in it: a fresh clone elsewhere checks the five known.
  const dir = new URL('../../../../shared/seeds/', import.meta.url);
  const seeds = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^\d{3}_/.test(f))
        .map((f) => f.slice(0, 3))
    : ['000', '001', '002', '003', '004'];
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
