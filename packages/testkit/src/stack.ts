import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createDb, migrateToLatest, type Database, type Kysely } from '@parley/db';
import { createKeys, PERSISTER_GROUP, type Keys } from '@parley/redis';
import type { Child } from './child.js';
import { noteSentText } from './log-scan.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { startGateway, startPersister, type GatewayProcess } from './services.js';
import { signToken, TEST_JWT_SECRET, TEST_SERVICE_TOKEN, type TokenOptions } from './tokens.js';

export interface StackOptions {
  gateways?: number;
  persisters?: number;
  /** Extra environment for every gateway and persister. */
  env?: Record<string, string>;
  /** redis-server arguments over infra/redis.conf (`['--appendfsync', 'always']`, say). */
  redisArgs?: string[];
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
  readonly redis: Redis;
  readonly db: Kysely<Database>;
  readonly keys: Keys = createKeys();
  readonly env: Record<string, string>;
  /** The upload directory every gateway of the stack shares (as a shared volume would be). */
  readonly uploadDir = mkdtempSync(join(tmpdir(), 'parley-uploads-'));

  private constructor(readonly redisServer: RedisServer, readonly pgServer: PostgresServer, extraEnv: Record<string, string>) {
    this.env = {
      UPLOAD_DIR: this.uploadDir,
      REDIS_URL: redisServer.url,
      DATABASE_URL: pgServer.url,
      JWT_SECRET: TEST_JWT_SECRET,
      SERVICE_TOKENS: TEST_SERVICE_TOKEN,
      LOG_LEVEL: 'info',
      PERSISTER_CLAIM_IDLE_MS: '1000',
      PERSISTER_CLAIM_INTERVAL_MS: '250',
      PERSISTER_BLOCK_MS: '200',
      // Tests send as fast as they can as one user; services/gateway/test/rate-limits.test.ts sets its own.
      MESSAGE_RATE_PER_SECOND: '1000000',
      MESSAGE_RATE_BURST: '1000000',
      REST_RATE_LIMIT: '1000000',
      ...extraEnv,
    };
    this.redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    this.db = createDb({ url: pgServer.url, poolSize: 4 });
  }

  static async start(t: Teardown, options: StackOptions = {}): Promise<Stack> {
    const [redisServer, pgServer] = await Promise.all([startRedis(options.redisArgs), startPostgres()]);
    const stack = new Stack(redisServer, pgServer, options.env ?? {});
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
  async http<T = any>(gw: GatewayProcess, method: string, path: string, token?: string, body?: unknown): Promise<HttpResult<T>> {
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
  async createGroup(owner: string, members: string[], gw = this.gateways[0]!): Promise<number> {
    const res = await this.http(gw, 'POST', '/api/chats', this.token(owner), { type: 'group', name: 'room', member_ids: members });
    if (res.status !== 201) throw new Error(`create group: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as number;
  }

  /** Entries the persisters have not yet acked. */
  async pendingCount(): Promise<number> {
    const summary = (await this.redis.xpending(this.keys.eventStream(), PERSISTER_GROUP)) as [number, ...unknown[]];
    return Number(summary[0]);
  }

  async streamLength(): Promise<number> {
    return this.redis.xlen(this.keys.eventStream());
  }

  /** Stops everything; throws (failing the test) if a service's log held a token or a message's text. */
  async stop(): Promise<void> {
    await Promise.all([...this.gateways.map((g) => g.child.kill('SIGKILL')), ...this.persisters.map((p) => p.kill('SIGKILL'))]);
    this.redis.disconnect();
    await this.db.destroy();
    await Promise.all([this.redisServer.stop(), this.pgServer.stop()]);
    rmSync(this.uploadDir, { recursive: true, force: true });
    const leaks = [...this.gateways.map((g) => g.child), ...this.persisters].flatMap((c) => c.leaks.map((l) => `${c.name}: ${l}`));
    if (leaks.length > 0) throw new Error(`service logs leaked secrets:\n${leaks.join('\n')}`);
  }
}
