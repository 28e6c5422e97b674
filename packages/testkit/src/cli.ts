import { fileURLToPath } from 'node:url';
import { parley } from '@parley/cli';
import { Child } from './child.js';

/** The compiled `parley` command. */
export const parleyCli = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));

export interface ParleyRun {
  code: number | null;
  /** What it printed, stdout and stderr, a line each. */
  lines: string[];
  /** Its last JSON line, parsed. */
  json: any;
}

function runOf(code: number | null, lines: string[]): ParleyRun {
  const last = lines.filter((l) => l.startsWith('{')).at(-1);
  return { code, lines, json: last ? JSON.parse(last) : undefined };
}

/** Runs `parley …` as a process, to its end: for what only the command as typed shows (its exit status). */
export async function runParley(env: Record<string, string>, ...args: string[]): Promise<ParleyRun> {
  const child = new Child(`parley-${args[0]}`, process.execPath, [parleyCli, ...args], { env: { PATH: process.env.PATH, ...env } });
  const { code } = await child.exited;
  return runOf(code, child.lines);
}

/** Runs `parley …` in this process, as its main.ts does (the same function, without a process to start). */
export async function callParley(env: Record<string, string>, ...args: string[]): Promise<ParleyRun> {
  const lines: string[] = [];
  const say = (text: string) => void lines.push(...text.split('\n'));
  return runOf(await parley(args, env, { out: say, err: say }), lines);
}
