import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LogFile } from './log-file.js';
import { treeCpuTicks } from './proc.js';

/** Every child still running: killed when the test process exits, whatever ended it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

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
  readonly leaks: string[];

  private readonly detached: boolean;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: SpawnOptions & { scanLogs?: boolean } = {},
  ) {
    this.detached = options.detached === true;
    const log = new LogFile(name, options.scanLogs === true);
    this.leaks = log.leaks;
    const { scanLogs: _scan, ...spawnOptions } = options;
    this.proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        log.line(line);
        if (this.lines.length < 20_000) this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      });
    }
    // 'exit' may come before the last output is read; the file ends once stdout and stderr have.
    this.proc.once('close', () => log.end());
    running.add(this.proc);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        running.delete(this.proc);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resolves on the first line (past or future) that matches; rejects if the process exits first or `timeoutMs` passes. */
  waitFor(test: RegExp | ((line: string) => boolean), timeoutMs = 20_000): Promise<string> {
    return this.lineMatching(test, (since) => Date.now() - since >= timeoutMs, `within ${timeoutMs} ms`);
  }

  /**
   * For a process's own start: like waitFor, but bounded by the process's progress, not the clock.
   * It fails when the process exits first, or when it has gone `stallMs` without a line of output
   * or a tick of CPU (its own or its children's): a start merely slow on a loaded machine is waited
   * for, and a stuck one is named, with its last lines. One that keeps busy but never gets there
   * (retrying a connection and logging each try, say) is given up after ten times `stallMs`. A
   * process that does not get there is killed: nothing is left running past its test.
   */
  async started(line: RegExp, stallMs = 20_000): Promise<string> {
    let last = { lines: -1, ticks: -1, at: Date.now() };
    const givenUp = (since: number) => {
      const now = { lines: this.lines.length, ticks: treeCpuTicks(this.pid), at: Date.now() };
      if (now.lines !== last.lines || now.ticks !== last.ticks) last = now;
      return now.at - last.at >= stallMs || now.at - since >= 10 * stallMs;
    };
    try {
      return await this.lineMatching(line, givenUp, `for ${stallMs} ms of no progress (no output, no CPU), or in ${10 * stallMs} ms`);
    } catch (err) {
      await this.kill('SIGKILL');
      throw err;
    }
  }

  private lineMatching(test: RegExp | ((line: string) => boolean), givenUp: (since: number) => boolean, why: string): Promise<string> {
    const match = typeof test === 'function' ? test : (l: string) => test.test(l);
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    const since = Date.now();
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        settle();
        reject(new Error(`${this.name} (pid ${this.pid}) ${reason} before a line matching ${String(test)}; last lines:\n${this.lines.slice(-15).join('\n')}`));
      };
      const watch = setInterval(() => givenUp(since) && fail(`gave no line ${why}`), 250);
      const settle = () => {
        clearInterval(watch);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter = { test: match, resolve: (line: string) => (settle(), resolve(line)) };
      this.waiters.push(waiter);
      void this.exited.then((info) => fail(`exited (${JSON.stringify(info)})`));
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
