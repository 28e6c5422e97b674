import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Child } from '@parley/testkit';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function run(name: string, command: string, args: string[], env: Record<string, string> = {}) {
  const child = new Child(name, command, args, { cwd: root, env: { ...process.env, ...env } });
  const { code } = await child.exited;
  return { code, out: child.lines.join('\n') };
}

interface ComposeService {
  command?: string[];
  scale?: number;
  volumes?: Array<{ source: string; target: string } | string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  environment?: Record<string, string>;
  /** Started only with one of these profiles (docker-compose config lists them all the same). */
  profiles?: string[];
  restart?: string;
}

t.test('docker-compose.yml is valid and starts the same topology as infra/cluster.sh', async (t) => {
  const valid = await run('compose-validate', 'docker-compose', ['config', '-q'], { JWT_SECRET: 'compose-test-secret-0123456789' });
  t.equal(valid.code, 0, `docker-compose config -q passes ${valid.out}`);
  const noSecret = await run('compose-no-secret', 'docker-compose', ['config', '-q'], { JWT_SECRET: '' });
  t.not(noSecret.code, 0, 'without JWT_SECRET the deployment refuses to start');
  t.match(noSecret.out, /JWT_SECRET/);

  const resolved = await run('compose-config', 'docker-compose', ['config'], { JWT_SECRET: 'compose-test-secret-0123456789' });
  const compose = parse(resolved.out) as { services: Record<string, ComposeService> };
  const local = JSON.parse((await run('cluster-topology', 'bash', ['infra/cluster.sh', 'topology'])).out);
  const s = compose.services;

  t.same(
    Object.keys(s)
      .filter((n) => !['prometheus', 'grafana'].includes(n) && !s[n]!.profiles)
      .sort(),
    ['gateway', 'lb', 'migrate', 'persister', 'postgres', 'redis'],
    'the same services (and Prometheus and Grafana; a profile adds the Redis Cluster)',
  );
  t.equal(s.gateway!.scale, local.gateways, `${local.gateways} gateways in both`);
  t.equal(s.persister!.scale, local.persisters, `${local.persisters} persisters in both`);

  const mounts = (svc: ComposeService) => (svc.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
  t.ok(
    mounts(s.redis!).some((m) => m.startsWith(join(root, local.redis_conf) + ':')),
    'redis runs with the same infra/redis.conf',
  );
  t.match(readFileSync(join(root, local.redis_conf), 'utf8'), /^appendonly yes$/m, 'which turns AOF on');
  const fsync = s.redis!.command!;
  t.equal(fsync[fsync.indexOf('--appendfsync') + 1], local.appendfsync, `appendfsync ${local.appendfsync} by default in both`);
  t.ok(
    mounts(s.lb!).some((m) => m.startsWith(join(root, local.haproxy_cfg) + ':')),
    'HAProxy runs with the same infra/haproxy/haproxy.cfg',
  );
  t.ok(
    mounts(s.postgres!).some((m) => /^pg-data:\/var\/lib\/postgresql\/data/.test(m)),
    'postgres keeps its data in a named volume',
  );

  t.equal(local.migrate, true);
  t.same(s.migrate!.command, ['node', 'packages/cli/dist/main.js', 'migrate'], 'a one-shot migrate job');
  for (const svc of ['gateway', 'persister']) {
    t.equal(s[svc]!.depends_on?.migrate?.condition, 'service_completed_successfully', `${svc} waits for the migrations`);
    t.equal(s[svc]!.depends_on?.redis?.condition, 'service_healthy', `${svc} waits for a healthy Redis`);
  }
  t.equal(s.lb!.depends_on?.gateway?.condition, 'service_healthy', 'the load balancer waits for healthy gateways');
  for (const svc of ['redis', 'postgres', 'gateway']) t.ok(s[svc]!.healthcheck, `${svc} has a healthcheck`);
  for (const svc of ['redis', 'postgres', 'gateway', 'persister', 'lb']) t.equal(s[svc]!.restart, 'unless-stopped', `${svc} is started again if it dies`);
});

t.test('the redis-cluster profile runs the Redis Cluster infra/cluster.sh starts with REDIS_SHARDS=3', async (t) => {
  const env = {
    JWT_SECRET: 'compose-test-secret-0123456789',
    COMPOSE_PROFILES: 'redis-cluster',
    REDIS_CLUSTER_NODES: '172.28.0.11:6379,172.28.0.12:6379,172.28.0.13:6379',
  };
  t.equal((await run('compose-validate-cluster', 'docker-compose', ['config', '-q'], env)).code, 0, 'valid with the profile');
  const s = (
    parse((await run('compose-config-cluster', 'docker-compose', ['config'], env)).out) as {
      services: Record<string, ComposeService & { networks?: Record<string, { ipv4_address?: string }> }>;
    }
  ).services;
  const nodes = Object.keys(s)
    .filter((n) => /^redis-node-\d$/.test(n))
    .sort();
  t.equal(nodes.length, 9, 'nine Redis nodes: 3 masters, 2 replicas each');
  t.ok(
    [...nodes, 'redis-cluster-init'].every((n) => s[n]!.profiles?.includes('redis-cluster')),
    'all of them only with the profile',
  );
  t.ok(
    nodes.every((n) => s[n]!.restart === 'unless-stopped'),
    'a node that dies is started again',
  );
  t.match(s['redis-cluster-init']!.command!.join(' '), /--cluster-replicas 2 /, 'formed with two replicas of each master');
  const script = readFileSync(join(root, 'infra/cluster.sh'), 'utf8');
  t.match(script, /REDIS_REPLICAS=\$\{REDIS_REPLICAS:-2\}/, 'as cluster.sh forms it by default');
  for (const flag of ['--cluster-enabled', '--cluster-node-timeout', '--min-replicas-to-write']) {
    t.ok(script.includes(flag), `cluster.sh passes ${flag}`);
    const values = new Set(nodes.map((n) => s[n]!.command![s[n]!.command!.indexOf(flag) + 1]));
    t.equal(values.size, 1, `every node gets the same ${flag}`);
    t.ok(script.includes(`${flag} ${[...values][0]}`), `as cluster.sh does: ${flag} ${[...values][0]}`);
  }
  const addresses = nodes.map((n) => `${s[n]!.networks!.default!.ipv4_address}:6379`);
  t.match(s['redis-cluster-init']!.command!.join(' '), addresses.join(' '), 'the init job forms the cluster of those nodes');
  for (const svc of ['gateway', 'persister', 'migrate']) t.equal(s[svc]!.environment!.REDIS_CLUSTER_NODES, env.REDIS_CLUSTER_NODES, `${svc} is told the nodes`);
});

t.test('Prometheus scrapes every gateway and persister, and the Grafana dashboard plots only series the services expose', async (t) => {
  const resolved = await run('compose-config', 'docker-compose', ['config'], { JWT_SECRET: 'compose-test-secret-0123456789' });
  const s = (parse(resolved.out) as { services: Record<string, ComposeService> }).services;
  const prometheus = parse(readFileSync(join(root, 'infra/prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ dns_sd_configs: Array<{ names: string[]; port: number }> }>;
  };
  const targets = prometheus.scrape_configs.flatMap((c) => c.dns_sd_configs.map((d) => `${d.names[0]}:${d.port}`));
  t.same(
    targets,
    [`gateway:${s.gateway!.environment!.PORT}`, `persister:${s.persister!.environment!.METRICS_PORT}`],
    'the ports the services serve /metrics on',
  );
  const mounts = (svc: ComposeService) => (svc.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
  t.ok(
    mounts(s.prometheus!).some((m) => m.startsWith(join(root, 'infra/prometheus/prometheus.yml') + ':')),
    'compose runs Prometheus with it',
  );
  t.ok(
    mounts(s.grafana!).some((m) => m.startsWith(join(root, 'infra/grafana/dashboards') + ':')),
    'and Grafana with the dashboard',
  );

  const defined = ['services/gateway/src/metrics.ts', 'services/persister/src/metrics.ts'].flatMap((f) =>
    [...readFileSync(join(root, f), 'utf8').matchAll(/name: '(parley_\w+)'|gauge\('(parley_\w+)'/g)].map((m) => m[1] ?? m[2]!),
  );
  const dashboard = JSON.parse(readFileSync(join(root, 'infra/grafana/dashboards/parley.json'), 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  const used = new Set(
    dashboard.panels.flatMap((p) => p.targets.flatMap((q) => [...q.expr.matchAll(/parley_\w+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))),
  );
  for (const name of used) t.ok(defined.includes(name), `${name} is a series a service exposes`);
  t.ok(used.size >= 10, `the dashboard plots ${used.size} Parley series`);
});

t.test('the Dockerfile builds compiled JavaScript in stages and runs as a non-root user', async (t) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  t.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'two stages');
  t.match(dockerfile, /npm run build/, 'compiles with the project build (tsc, and esbuild for the /chat page)');
  t.match(dockerfile, /npm prune --omit=dev/, 'ships production dependencies only');
  t.match(dockerfile, /^USER node$/m, 'runs as the unprivileged node user');
});
