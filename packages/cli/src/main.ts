#!/usr/bin/env node
// `parley`: the operators' and developers' command (see `parley help`; the command is cli.ts).
import { parley } from './cli.js';

const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
process.exit(await parley(process.argv.slice(2), process.env, { out: (line) => console.log(line), err: (line) => console.error(line), interrupted }));
