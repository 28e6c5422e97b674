/**
 * `npm run test:unit`: every `*.unit.test.ts` of the packages and services (in-process tests of pure
 * logic, no servers), imported into this one process, so that the set runs in seconds. Under tap's
 * runner each file would be a process of its own costing about two seconds to start; the full suite
 * (`npm test`) still runs each of them that way. The output is TAP; the exit code is 1 if one failed.
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
