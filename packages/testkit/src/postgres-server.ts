import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child.js';
import { freePort, onFreePorts } from './free-port.js';
import { scratchDir } from './scratch.js';

export interface PostgresServer {
  url: string;
  port: number;
  child: Child;
  dataDir: string;
  /** Stops the server as `pg_ctl -m immediate` does and starts it again, once `whileDown` has resolved. */
  restart(whileDown?: () => Promise<unknown>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * PostgreSQL refuses to run as root: as root, its processes run as the `postgres` system user
 * (spawned with that uid directly, so that killing the child kills the server).
 */
const asRoot = process.getuid?.() === 0;
const postgresUser = asRoot
  ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) }
  : {};
function ownForPostgres(dir: string) {
  if (asRoot) chownSync(dir, postgresUser.uid!, postgresUser.gid!);
}

/**
 * An initdb'd cluster made once per machine and copied for each server: initdb takes seconds, a
 * copy a fraction of one. Built beside its final name and renamed into place, so concurrent
 * callers never see half a template.
 */
export function ensurePostgresTemplate(): string {
  const templateDir = join(scratchDir(), 'parley-pg-template-v2');
  if (existsSync(templateDir)) return templateDir;
  const building = mkdtempSync(join(scratchDir(), 'parley-pg-building-'));
  ownForPostgres(building);
  // 1 MB WAL segments instead of 16: every stack copies the template, and an empty 16 MB segment
  // was 40% of it.
  execFileSync('initdb', ['-D', building, '-U', 'parley', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync', '--wal-segsize=1'], {
    stdio: 'ignore',
    cwd: tmpdir(),
    ...postgresUser,
  });
  try {
    renameSync(building, templateDir);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process won the race
  }
  return templateDir;
}

/** Starts PostgreSQL on a free loopback port from a copy of the template; database `postgres`, user `parley`. */
export async function startPostgres(): Promise<PostgresServer> {
  const template = ensurePostgresTemplate();
  const dataDir = mkdtempSync(join(scratchDir(), 'parley-pg-'));
  rmSync(dataDir, { recursive: true });
  cpSync(template, dataDir, { recursive: true, preserveTimestamps: true });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dataDir]);
  const spawnOn = async (port: number) => {
    const child = new Child(
      'postgres',
      'postgres',
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      { cwd: tmpdir(), ...postgresUser },
    );
    await child.started(/database system is ready to accept connections/);
    return child;
  };
  const { port, child } = await onFreePorts(async () => {
    const port = await freePort();
    return { port, child: await spawnOn(port) };
  }).catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const server: PostgresServer = {
    url: `postgres://parley@127.0.0.1:${port}/postgres`,
    port,
    child,
    dataDir,
    async restart(whileDown) {
      // SIGQUIT is what `pg_ctl stop -m immediate` sends: the postmaster aborts its backends, no checkpoint.
      await server.child.kill('SIGQUIT');
      await whileDown?.();
      server.child = await spawnOn(port);
    },
    async stop() {
      await server.child.kill('SIGQUIT'); // immediate shutdown: the postmaster takes its backends with it
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
