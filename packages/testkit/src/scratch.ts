import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * Where the test servers keep their data: PARLEY_TEST_SCRATCH when set (infra/test.sh sets it to a
 * directory in /dev/shm when that has room), else the system's temporary directory. On this
 * machine's disk, copying a Postgres data directory for a stack cost 0.7 s of CPU; in memory 0.05 s.
 * Benchmarks leave it unset: what durability costs is measured on a disk.
 */
export function scratchDir(): string {
  const dir = process.env.PARLEY_TEST_SCRATCH;
  if (!dir) return tmpdir();
  mkdirSync(dir, { recursive: true, mode: 0o1777 });
  return dir;
}
