/**
 * Every `*.unit.test.ts` of the packages and services (in-process tests of pure logic, no servers),
 * imported into this one process, so that the set runs in a second or two: under tap's runner each
 * file would be a process of its own, costing a second or more to start. tap runs this file and
 * leaves the unit files out of its own list (.taprc); `npm run test:unit` runs it alone, and
 * `npm test -- <file>.unit.test.ts` runs one unit file by itself.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('../../', import.meta.url);
const files = ['packages', 'services']
  .flatMap((top) => readdirSync(new URL(`${top}/`, root)).map((name) => join(top, name, 'test')))
  .flatMap((dir) => {
    try {
      return readdirSync(new URL(`${dir}/`, root), { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f));
    } catch {
      return []; // a package without tests
    }
  })
  .filter((f) => f.endsWith('.unit.test.ts'))
  .sort();
for (const file of files) await import(pathToFileURL(join(root.pathname, file)).href);
