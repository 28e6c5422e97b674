import t from 'tap';
import { Child } from '@parley/testkit';

const node = (name: string, script: string) => new Child(name, process.execPath, ['-e', script]);

t.test('started: a start is bounded by the process’s progress, not by the clock', async (t) => {
  await t.test('a silent, idle process is given up after stallMs without progress, named, and killed', async (t) => {
    const stuck = node('stuck-service', 'setTimeout(() => {}, 600_000)');
    await t.rejects(stuck.started(/ready/, 1000), /stuck-service \(pid \d+\) gave no line for 1000 ms of no progress/);
    t.match(await stuck.exited, { signal: 'SIGKILL' }, 'and it is not left running');
  });

  await t.test('a process that computes in silence longer than stallMs is waited for', async (t) => {
    // Three times the stall limit of CPU-bound silence (longer still on a loaded machine), then ready.
    const busy = node(
      'busy-service',
      'const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; }; const end = cpu() + 3e6; while (cpu() < end); console.log("ready")',
    );
    t.equal(await busy.started(/ready/, 1000), 'ready');
    t.equal((await busy.exited).code, 0);
  });

  await t.test('a process that exits first is named with its exit and its last lines', async (t) => {
    const failing = node('failing-service', 'console.error("bad configuration: X"); process.exit(2)');
    await t.rejects(failing.started(/ready/), /failing-service \(pid \d+\) exited \(\{"code":2,"signal":null\}\)[\s\S]*bad configuration: X/);
  });
});
