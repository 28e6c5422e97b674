import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { logLeak } from './log-scan.js';

/** Where the harness writes every child's output, one file per process. */
export const logDir = process.env.PARLEY_TEST_LOG_DIR ?? join(process.cwd(), '.tap', 'parley-logs');

/**
 * A child process whose output lines can be awaited: `waitFor` resolves on the first line (past or
 * future) that matches, and rejects if the process exits first or the deadline passes.
 */
export class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Lines that leaked a token or a message's text (see log-scan.ts), when spawned with `scanLogs`. */
  readonly leaks: string[] = [];

  private readonly detached: boolean;

  constructor(readonly name: string, command: string, args: string[], options: SpawnOptions & { scanLogs?: boolean } = {}) {
    this.detached = options.detached === true;
    mkdirSync(logDir, { recursive: true });
    const file = createWriteStream(join(logDir, `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.log`));
    const { scanLogs: _scan, ...spawnOptions } = options;
    this.proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (!file.writableEnded) file.write(line + '\n');
        const leak = options.scanLogs ? logLeak(line) : undefined;
        if (leak && this.leaks.length < 10) this.leaks.push(leak);
        if (this.lines.length < 20_000) this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      });
    }
    // 'exit' may come before the last output is read; the file ends once stdout and stderr have.
    this.proc.once('close', () => file.end());
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  waitFor(test: RegExp | ((line: string) => boolean), timeoutMs = 20_000): Promise<string> {
    const match = typeof test === 'function' ? test : (l: string) => test.test(l);
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no line matching ${test} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`)), timeoutMs);
      const waiter = { test: match, resolve: (line: string) => (clearTimeout(timer), resolve(line)) };
      this.waiters.push(waiter);
      void this.exited.then((info) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${JSON.stringify(info)}) before a line matching ${test}; last lines:\n${this.lines.slice(-15).join('\n')}`));
      });
    });
  }

  /** Sends a signal (to the whole process group when spawned detached) and resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exitInfo) {
      if (this.detached) process.kill(-this.pid, signal);
      else this.proc.kill(signal);
    }
    return this.exited;
  }
}
