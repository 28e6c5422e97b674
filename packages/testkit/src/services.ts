import { fileURLToPath } from 'node:url';
import { Child } from './child.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** What runs: the service bundled into one file (infra/bundle-services.mjs). */
const mainOf = (service: 'gateway' | 'persister') => `${repoRoot}services/${service}/dist/bundle/main.js`;
/** Extra node flags for the services, for profiling (`PARLEY_SERVICE_NODE_ARGS="--cpu-prof"`). */
const nodeArgs = (process.env.PARLEY_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);

export interface GatewayProcess {
  child: Child;
  port: number;
  url: string;
  wsUrl: string;
  nodeId: string;
}

/** Starts a compiled gateway on a free port; resolves when it listens. */
export async function startGateway(env: Record<string, string>, name = 'gateway'): Promise<GatewayProcess> {
  const nodeId = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const child = new Child(name, process.execPath, [...nodeArgs, mainOf('gateway')], {
    // Only what is given: a gateway's defaults are what an operator gets who sets nothing.
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', NODE_ID: nodeId, ...env },
    scanLogs: true,
  });
  const line = await child.started(/"msg":"gateway listening"/);
  const port = (JSON.parse(line) as { port: number }).port;
  return { child, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, nodeId };
}

/** Starts a compiled persister; resolves when its consumer group is ready. */
export async function startPersister(env: Record<string, string>, name = 'persister'): Promise<Child> {
  const child = new Child(name, process.execPath, [...nodeArgs, mainOf('persister')], { env: { PATH: process.env.PATH, ...env }, scanLogs: true });
  await child.started(/"msg":"persister ready"/);
  return child;
}
