import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child.js';
import { freePort } from './free-port.js';

export interface PostgresServer {
  url: string;
  port: number;
  child: Child;
  dataDir: string;
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

const templateDir = join(tmpdir(), 'parley-pg-template-v1');

/**
 * An initdb'd cluster made once per machine and copied for each server: initdb takes seconds, a
 * copy a fraction of one. Built beside its final name and renamed into place, so concurrent
 * callers never see half a template.
 */
export function ensurePostgresTemplate(): string {
  if (existsSync(templateDir)) return templateDir;
  const building = mkdtempSync(join(tmpdir(), 'parley-pg-building-'));
  ownForPostgres(building);
  execFileSync('initdb', ['-D', building, '-U', 'parley', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'], {
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
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-pg-'));
  rmSync(dataDir, { recursive: true });
  cpSync(template, dataDir, { recursive: true, preserveTimestamps: true });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dataDir]);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = new Child('postgres', 'postgres', [
      '-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
      '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
    ], { cwd: tmpdir(), ...postgresUser });
    try {
      await child.waitFor(/database system is ready to accept connections/, 30_000);
    } catch (err) {
      if (attempt < 3 && child.lines.some((l) => /could not bind|Address already in use/.test(l))) continue;
      throw err;
    }
    return {
      url: `postgres://parley@127.0.0.1:${port}/postgres`,
      port,
      child,
      dataDir,
      async stop() {
        await child.kill('SIGQUIT'); // immediate shutdown: the postmaster takes its backends with it
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
}
