import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { logLeak } from './log-scan.js';

/** Where the harness writes every service's output, one file per process (or in-process gateway). */
export const logDir = process.env.PARLEY_TEST_LOG_DIR ?? join(process.cwd(), '.tap', 'parley-logs');

/**
 * A service's log as the harness keeps it: each line written to its file in `logDir` and, when
 * `scan` is set, checked for a token or a message's text (log-scan.ts). A line that comes after
 * `end()` (a service still finishing what it had in hand) is scanned, not written.
 */
export class LogFile {
  /** Lines that leaked a token or a message's text (the first ten). */
  readonly leaks: string[] = [];
  private readonly file;

  constructor(
    name: string,
    private readonly scan: boolean,
  ) {
    mkdirSync(logDir, { recursive: true });
    this.file = createWriteStream(join(logDir, `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.log`));
  }

  line(text: string): void {
    if (!this.file.writableEnded) this.file.write(text + '\n');
    const leak = this.scan ? logLeak(text) : undefined;
    if (leak && this.leaks.length < 10) this.leaks.push(leak);
  }

  end(): void {
    this.file.end();
  }
}
