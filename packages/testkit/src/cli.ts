import { fileURLToPath } from 'node:url';
import { Child } from './child.js';

/** The compiled `parley` command. */
export const parleyCli = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));

/** Runs `parley …` to its end: its exit code, output lines (stdout and stderr) and its last JSON line. */
export async function runParley(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; lines: string[]; json: any }> {
  const child = new Child(`parley-${args[0]}`, process.execPath, [parleyCli, ...args], { env: { PATH: process.env.PATH, ...env } });
  const { code } = await child.exited;
  const last = child.lines.filter((l) => l.startsWith('{')).at(-1);
  return { code, lines: child.lines, json: last ? JSON.parse(last) : undefined };
}
