import t from 'tap';
import { readFileSync } from 'node:fs';
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
