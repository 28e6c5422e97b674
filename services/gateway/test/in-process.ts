import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { LogFile, type Stack, type Teardown } from '@parley/testkit';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

export interface InProcessGateway {
  app: FastifyInstance;
  nodeId: string;
  port: number;
  url: string;
  wsUrl: string;
}

/**
 * A gateway in the test's own process, over the stack's Redis and Postgres with the stack's settings
 * and `env` over them: for logic that needs no process to die (a kill, a stop or a drain needs
 * one: stack.addGateway). It listens on a free loopback port; its log goes to .tap/parley-logs and
 * is checked for tokens and message texts as a process's is; it is closed with the test, before
 * the stack.
 */
export async function inProcessGateway(t: Teardown, stack: Stack, name = 'gateway', env: Record<string, string> = {}): Promise<InProcessGateway> {
  const nodeId = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const log = new LogFile(`${nodeId}-in-process`, true);
  // pino writes whole lines, each with its newline.
  const logStream = { write: (line: string) => log.line(line.trimEnd()) };
  const app = await buildApp(loadConfig({ ...stack.env, HOST: '127.0.0.1', PORT: '0', NODE_ID: nodeId, ...env }), { logStream });
  t.teardown(async () => {
    await app.close();
    log.end();
    if (log.leaks.length > 0) throw new Error(`${nodeId}'s log leaked secrets:\n${log.leaks.join('\n')}`);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, nodeId, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws` };
}

/** `count` in-process gateways, started together. */
export function inProcessGateways(t: Teardown, stack: Stack, count: number, env: Record<string, string> = {}): Promise<InProcessGateway[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => inProcessGateway(t, stack, `gateway${i + 1}`, env)));
}
