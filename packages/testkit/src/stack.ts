import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createDb, migrateToLatest, type Database, type Kysely } from '@parley/db';
import { closeRedis, connectRedis, createKeys, mastersOf, persisterLag, type Keys, type RedisClient, type RedisTarget } from '@parley/redis';
import type { Child } from './child.js';
import { noteSentText } from './log-scan.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { startRedisCluster, type RedisCluster } from './redis-cluster.js';
import { startRedisSentinel, type RedisSentinelSetup } from './redis-sentinel.js';
import { startGateway, startPersister, type GatewayProcess } from './services.js';
import { signToken, TEST_JWT_SECRET, TEST_SERVICE_TOKEN, type TokenOptions } from './tokens.js';
import { scratchDir } from './scratch.js';

export interface StackOptions {
  gateways?: number;
  persisters?: number;
  /** Extra environment for every gateway and persister. */
  env?: Record<string, string>;
  /** redis-server arguments over infra/redis.conf (`['--appendfsync', 'always']`, say). */
  redisArgs?: string[];
  /**
   * One Redis server, a Redis Cluster of 3 masters with a replica each, or a master and a replica
   * watched by 3 Sentinels. Unset: PARLEY_TEST_REDIS
   * (`cluster` runs a test file against a cluster; see the files under test/cluster/), else one server.
   */
  redis?: 'standalone' | 'cluster' | 'sentinel';
  /**
   * Replicas of each master of a Redis Cluster: 1 unless set; 2 as infra/cluster.sh runs it, so that
   * a promoted master keeps a replica and meets `min-replicas-to-write` with its peer dead.
   */
  redisReplicas?: number;
  /** A Redis Cluster's nodes each on a loopback address of its own (see RedisClusterOptions.ownAddresses). */
  redisOwnAddresses?: boolean;
  /**
   * The persister's own claim and read timings (a benchmark). Unset, they are cut so that a test sees
   * a crashed consumer's entries claimed within about two seconds, at the cost of a claim sweep of
   * every partition each second (four a second cost the suite's idle persisters and their Redis a
   * third more CPU, for no test that needed it).
   */
  productionTimings?: boolean;
}

/** The test harness' persister timings (see StackOptions.productionTimings). */
const testTimings = { PERSISTER_CLAIM_IDLE_MS: '1000', PERSISTER_CLAIM_INTERVAL_MS: '1000', PERSISTER_BLOCK_MS: '200' };

function stopRedis(b: StackRedis): Promise<void> {
  return b.mode === 'standalone' ? b.server.stop() : b.mode === 'cluster' ? b.cluster.stop() : b.sentinel.stop();
}

/** The Redis a stack runs on: one server, or a cluster. */
type StackRedis = { mode: 'standalone'; server: RedisServer } | { mode: 'cluster'; cluster: RedisCluster } | { mode: 'sentinel'; sentinel: RedisSentinelSetup };

function targetOf(backend: StackRedis): RedisTarget {
  switch (backend.mode) {
    case 'standalone':
      return { mode: 'standalone', url: backend.server.url };
    case 'cluster':
      return { mode: 'cluster', nodes: backend.cluster.nodes.map((n) => ({ host: n.host, port: n.port })) };
    case 'sentinel':
      return { mode: 'sentinel', sentinels: backend.sentinel.sentinels.map((n) => ({ host: '127.0.0.1', port: n.port })), name: backend.sentinel.name };
  }
}

/** A target as the services' environment says it. */
function envOf(target: RedisTarget): Record<string, string> {
  const list = (nodes: Array<{ host: string; port: number }>) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  switch (target.mode) {
    case 'standalone':
      return { REDIS_URL: target.url };
    case 'cluster':
      return { REDIS_CLUSTER_NODES: list(target.nodes) };
    case 'sentinel':
      return { REDIS_SENTINELS: list(target.sentinels), REDIS_SENTINEL_MASTER: target.name };
  }
}

/** What the harness needs of a tap test: a place to register cleanup. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
}

/**
 * A whole Parley for one test file: its own Redis and Postgres on free loopback ports, migrated,
 * with gateways and persisters as real child processes. Everything is torn down with the test.
 */
export class Stack {
  readonly gateways: GatewayProcess[] = [];
  readonly persisters: Child[] = [];
  readonly redis: RedisClient;
  readonly db: Kysely<Database>;
  /** The keys the stack's services use (REDIS_PARTITIONS of its env, or the default). */
  readonly keys: Keys;
  readonly env: Record<string, string>;
  /** The upload directory every gateway of the stack shares (as a shared volume would be). */
  readonly uploadDir = mkdtempSync(join(scratchDir(), 'parley-uploads-'));

  private constructor(
    private readonly backend: StackRedis,
    readonly pgServer: PostgresServer,
    extraEnv: Record<string, string>,
    timings: Record<string, string>,
  ) {
    const redis = targetOf(backend);
    this.env = {
      UPLOAD_DIR: this.uploadDir,
      ...envOf(redis),
      DATABASE_URL: pgServer.url,
      JWT_SECRET: TEST_JWT_SECRET,
      SERVICE_TOKENS: TEST_SERVICE_TOKEN,
      LOG_LEVEL: 'info',
      ...timings,
      // Tests send as fast as they can as one user; services/gateway/test/rate-limits.test.ts sets its own.
      MESSAGE_RATE_PER_SECOND: '1000000',
      MESSAGE_RATE_BURST: '1000000',
      REST_RATE_LIMIT: '1000000',
      ...extraEnv,
    };
    this.keys = createKeys({ partitions: this.env.REDIS_PARTITIONS ? Number(this.env.REDIS_PARTITIONS) : undefined });
    this.redis = connectRedis(redis, 'test', { maxRetriesPerRequest: 1 });
    // A test that restarts or kills Redis sees its commands fail; the connection's errors need no printing.
    this.redis.on('error', () => undefined);
    this.db = createDb({ url: pgServer.url, poolSize: 4 });
  }

  static async start(t: Teardown, options: StackOptions = {}): Promise<Stack> {
    const mode = options.redis ?? (process.env.PARLEY_TEST_REDIS === 'cluster' ? 'cluster' : 'standalone');
    const starting: Promise<StackRedis> =
      mode === 'cluster'
        ? startRedisCluster({ args: options.redisArgs, replicasPerMaster: options.redisReplicas, ownAddresses: options.redisOwnAddresses }).then((cluster) => ({
            mode,
            cluster,
          }))
        : mode === 'sentinel'
          ? startRedisSentinel().then((sentinel) => ({ mode, sentinel }))
          : startRedis(options.redisArgs).then((server) => ({ mode, server }));
    // If one fails to start, the other is stopped: a server left running would keep the test's process alive.
    const [redisStart, pgStart] = await Promise.allSettled([starting, startPostgres()]);
    if (redisStart.status === 'rejected' || pgStart.status === 'rejected') {
      await Promise.all([redisStart.status === 'fulfilled' && stopRedis(redisStart.value), pgStart.status === 'fulfilled' && pgStart.value.stop()]);
      throw redisStart.status === 'rejected' ? redisStart.reason : (pgStart as PromiseRejectedResult).reason;
    }
    const [backend, pgServer] = [redisStart.value, pgStart.value];
    const stack = new Stack(backend, pgServer, options.env ?? {}, options.productionTimings ? {} : testTimings);
    t.teardown(() => stack.stop());
    await migrateToLatest(stack.db);
    await Promise.all([
      ...Array.from({ length: options.gateways ?? 1 }, (_, i) => stack.addGateway(`gateway${i + 1}`)),
      ...Array.from({ length: options.persisters ?? 1 }, (_, i) => stack.addPersister(`persister${i + 1}`)),
    ]);
    return stack;
  }

  async addGateway(name = `gateway${this.gateways.length + 1}`, env: Record<string, string> = {}): Promise<GatewayProcess> {
    const gw = await startGateway({ ...this.env, ...env }, name);
    this.gateways.push(gw);
    return gw;
  }

  async addPersister(name = `persister${this.persisters.length + 1}`, env: Record<string, string> = {}): Promise<Child> {
    const p = await startPersister({ ...this.env, ...env }, name);
    this.persisters.push(p);
    return p;
  }

  token(sub: string, options?: TokenOptions): string {
    return signToken(sub, options);
  }

  /** A JSON request to a gateway with a bearer token. */
  async http<T = any>(gw: Pick<GatewayProcess, 'url'>, method: string, path: string, token?: string, body?: unknown): Promise<HttpResult<T>> {
    noteSentText((body as { content?: unknown } | undefined)?.content);
    const res = await fetch(gw.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Creates a group room through the API, as `owner`, with these members. */
  async createGroup(owner: string, members: string[], gw: Pick<GatewayProcess, 'url'> = this.gateways[0]!): Promise<number> {
    const res = await this.http(gw, 'POST', '/api/chats', this.token(owner), { type: 'group', name: 'room', member_ids: members });
    if (res.status !== 201) throw new Error(`create group: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as number;
  }

  /** The one Redis server; a test that restarts or pauses it runs on one server only. */
  get redisServer(): RedisServer {
    if (this.backend.mode !== 'standalone') throw new Error(`this stack runs on Redis ${this.backend.mode}, not one server`);
    return this.backend.server;
  }

  get redisCluster(): RedisCluster {
    if (this.backend.mode !== 'cluster') throw new Error(`this stack runs on Redis ${this.backend.mode}, not a cluster`);
    return this.backend.cluster;
  }

  get redisSentinel(): RedisSentinelSetup {
    if (this.backend.mode !== 'sentinel') throw new Error(`this stack runs on Redis ${this.backend.mode}, not Sentinel`);
    return this.backend.sentinel;
  }

  /** Empties Redis, every master of it: as a Redis that lost its data comes back. */
  async flushAll(): Promise<void> {
    await Promise.all(mastersOf(this.redis).map((node) => node.flushall()));
  }

  /** How many times each command ran (INFO commandstats), summed over the masters. */
  async commandCalls(): Promise<Map<string, number>> {
    const calls = new Map<string, number>();
    for (const node of mastersOf(this.redis)) {
      for (const m of (await node.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, (calls.get(m[1]!) ?? 0) + Number(m[2]));
    }
    return calls;
  }

  /** Subscribers of a sharded channel (PUBSUB SHARDNUMSUB), over the masters. */
  async shardSubscribers(channel: string): Promise<number> {
    const counts = await Promise.all(mastersOf(this.redis).map(async (node) => Number(((await node.pubsub('SHARDNUMSUB', channel)) as [string, number])[1])));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Entries the persisters have not yet acked, over every partition. */
  async pendingCount(): Promise<number> {
    return (await persisterLag(this.redis, this.keys)).pending;
  }

  /** Entries in the event streams, over every partition. */
  async streamLength(): Promise<number> {
    return (await persisterLag(this.redis, this.keys)).streamLength;
  }

  /** Stops everything; throws (failing the test) if a service's log held a token or a message's text. */
  async stop(): Promise<void> {
    await Promise.all([...this.gateways.map((g) => g.child.kill('SIGKILL')), ...this.persisters.map((p) => p.kill('SIGKILL'))]);
    await closeRedis(this.redis);
    await this.db.destroy();
    await Promise.all([stopRedis(this.backend), this.pgServer.stop()]);
    rmSync(this.uploadDir, { recursive: true, force: true });
    const leaks = [...this.gateways.map((g) => g.child), ...this.persisters].flatMap((c) => c.leaks.map((l) => `${c.name}: ${l}`));
    if (leaks.length > 0) throw new Error(`service logs leaked secrets:\n${leaks.join('\n')}`);
  }
}
