import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { Stack } from '@parley/testkit';

/** The processes whose parent is this one, still alive (not zombies). */
function children(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      try {
        const fields = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return Number(fields[1]) === process.pid && fields[0] !== 'Z' ? [Number(e)] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

t.test('a stack whose Redis cannot start stops the Postgres it started, and rejects', async (t) => {
  // The TypeScript loader may keep a helper of its own (tsx's esbuild service): not the stack's.
  const before = new Set(children());
  await t.rejects(Stack.start(t, { redisArgs: ['--no-such-directive', 'x'] }), /exited/);
  // A server left running would keep the test's process alive until tap's timeout.
  t.same(
    children().filter((pid) => !before.has(pid)),
    [],
    'no child process the stack started is left running',
  );
});
