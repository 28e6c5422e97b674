import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { readEnv, ServiceEnv, SharedEnv } from '@parley/config';
import { RedisEnv, redisTargetOf, type RedisTarget } from '@parley/redis';

/** Pictures, sound, video, PDF, office documents, archives and plain text: nothing a browser would run. */
const DEFAULT_ALLOWED_TYPES = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/heic',
  'image/bmp',
  'audio/*',
  'video/*',
  'application/pdf',
  'text/plain',
  'application/zip',
  'application/x-7z-compressed',
  'application/gzip',
  'application/x-cfb',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
].join(',');

/** Every setting of the gateway, read from the environment once, here and nowhere else. */
export const GatewayEnv = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], { default: 'development' }),
  /**
   * POST /dev/tokens: anyone who reaches it mints a token for any user. For demos and tests only,
   * so off unless named; refused with NODE_ENV=production and without JWT_SECRET.
   */
  DEV_TOKENS: Type.Boolean({ default: false }),
  HOST: Type.String({ default: '127.0.0.1' }),
  /** 0 picks a free port; the log line "gateway listening" names it. */
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  NODE_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ...SharedEnv,
  ...ServiceEnv,
  ...RedisEnv,
  /**
   * How long a Redis command may go unanswered (Redis paused, say) before it fails: a send is then
   * refused with SERVICE_UNAVAILABLE, and re-sent with its client_id, it is stored at most once.
   */
  REDIS_COMMAND_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  /**
   * How long a send (a frame from its arrival, or a REST call) may go unanswered, whatever holds it
   * (a partition that takes no writes, a failover, frames queued behind it): it is then refused with
   * SERVICE_UNAVAILABLE and `retry_after_ms`, and a resend with the same client_id is stored once.
   */
  SEND_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  /** HS* shared secret (as the customer's backend signs with); required unless JWT_PUBLIC_KEY is set. */
  JWT_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  /** PEM public key for RS256/ES256 tokens. */
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /** Comma-separated algorithms accepted; pinned, never taken from the token. */
  JWT_ALGORITHMS: Type.String({
    pattern: '^(HS256|HS384|HS512|RS256|RS384|RS512|ES256|ES384|ES512)(,(HS256|HS384|HS512|RS256|RS384|RS512|ES256|ES384|ES512))*$',
    default: 'HS256',
  }),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  /** Largest WebSocket frame accepted; a bigger one closes the socket with 1009. */
  WS_MAX_FRAME_BYTES: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 64 * 1024 }),
  /** Bytes queued for one socket before it is closed as a slow consumer (4100). */
  WS_SEND_BUFFER_MAX_BYTES: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
  /**
   * Browser origins allowed besides the gateway's own (comma-separated, such as
   * `https://chat.example.com`; `*` allows any), for WebSocket handshakes and REST (CORS) alike. A
   * handshake without an Origin (not from a browser) is allowed; one from another origin is refused
   * with 403, against cross-site WebSocket hijacking; REST answers other origins without CORS headers.
   */
  ALLOWED_ORIGINS: Type.String({ pattern: '^(\\*|https?://[^,\\s/]+(,https?://[^,\\s/]+)*)?$', default: '' }),
  /** Most sockets one user may hold open on one gateway; past it a handshake is refused with 429. */
  WS_MAX_SOCKETS_PER_USER: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
  /**
   * REST calls (and WebSocket handshakes) one user may make per REST_RATE_WINDOW_SECONDS, over all
   * gateways (counted in Redis). Calls without a user token are not counted.
   */
  REST_RATE_LIMIT: Type.Integer({ minimum: 1, default: 600 }),
  REST_RATE_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  /** Messages one user may send over WebSockets to one gateway: a steady rate, and the burst allowed above it. */
  MESSAGE_RATE_PER_SECOND: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, default: 10 }),
  MESSAGE_RATE_BURST: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50 }),
  /** How long a socket may stay open without sending hello (closed with 4101). */
  WS_HELLO_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /** Largest REST body. */
  HTTP_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 256 * 1024 }),
  /** How long a client_id is remembered in Redis (at least 60 s); a resend after that is a new message. */
  IDEMPOTENCY_TTL_SECONDS: Type.Integer({ minimum: 60, default: 86_400 }),
  /** Most events a resume replays per room; past it the client gets resume_too_far and pages history. */
  RESUME_MAX_EVENTS: Type.Integer({ minimum: 1, default: 1000 }),
  /** Most entries the event stream holds before appends are refused with MESSAGE_BACKLOG_FULL. */
  STREAM_MAX_BACKLOG: Type.Integer({ minimum: 1, default: 1_000_000 }),
  /** How long after sending a sender may recall a message. */
  RECALL_WINDOW_SECONDS: Type.Integer({ minimum: 0, default: 120 }),
  /** Comma-separated values of the JWT `role` claim that make a caller a global admin. */
  ADMIN_ROLES: Type.String({ pattern: '^[^,]+(,[^,]+)*$', default: 'admin' }),
  /**
   * Avatars (token claims, the service API) are https: URLs; true admits http: too, for a network
   * without TLS. Any other scheme (javascript:, data:) is refused, never stored or served.
   */
  AVATAR_ALLOW_HTTP: Type.Boolean({ default: false }),
  /**
   * Comma-separated bearer tokens of the server API (/api/service/…), for the customer's backend;
   * at least 32 characters each, several to allow rotation. Unset: the server API is not served.
   */
  SERVICE_TOKENS: Type.Optional(Type.String({ pattern: '^[^,\\s]{32,}(,[^,\\s]{32,})*$' })),
  /**
   * A room channel silent this long has its head read: a subscription that stopped delivering with
   * no error is found, and backfilled, within twice this of the first event it missed.
   */
  RELAY_PROBE_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
  /** Where uploaded files are stored (local disk): one directory that every gateway shares. */
  UPLOAD_DIR: Type.String({ minLength: 1, default: 'uploads' }),
  /** Largest file accepted (10 MiB by default); one byte more is refused with 413. */
  UPLOAD_MAX_BYTES: Type.Integer({ minimum: 1, maximum: 2 ** 40, default: 10 * 1024 * 1024 }),
  /** Most files in one upload request. */
  UPLOAD_MAX_FILES: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  /** Most non-file fields in one upload request, and the largest of them. */
  UPLOAD_MAX_FIELDS: Type.Integer({ minimum: 0, maximum: 100, default: 10 }),
  UPLOAD_MAX_FIELD_BYTES: Type.Integer({ minimum: 1, maximum: 1024 * 1024, default: 1024 }),
  /**
   * Comma-separated types accepted, as sniffed from the bytes (`image/*` allows every image type).
   * Text that is not markup sniffs as text/plain; HTML, SVG and XML as text/html, image/svg+xml and
   * application/xml; bytes of no known type as application/octet-stream.
   */
  UPLOAD_ALLOWED_TYPES: Type.String({ pattern: '^[a-z0-9.+*-]+/[a-z0-9.+*-]+(,[a-z0-9.+*-]+/[a-z0-9.+*-]+)*$', default: DEFAULT_ALLOWED_TYPES }),
  /** Lifetime of a room's cached member set. */
  MEMBERS_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, default: 3600 }),
});

type Env = Static<typeof GatewayEnv>;

export interface GatewayConfig {
  env: Env['NODE_ENV'];
  devTokens: boolean;
  host: string;
  port: number;
  nodeId: string;
  logLevel: string;
  redis: RedisTarget;
  redisKeyPrefix: string;
  redisPartitions: number;
  databaseUrl: string;
  databasePoolSize: number;
  jwt: { key: string; algorithms: string[]; issuer?: string; audience?: string; canSign: boolean };
  /** Browser origins allowed besides the gateway's own; `*` for any. */
  allowedOrigins: readonly string[];
  ws: { maxFrameBytes: number; sendBufferMaxBytes: number; helloTimeoutMs: number; maxSocketsPerUser: number };
  httpBodyLimitBytes: number;
  restRateLimit: { max: number; windowMs: number };
  messageRate: { perSecond: number; burst: number };
  idempotencyTtlSeconds: number;
  resumeMaxEvents: number;
  streamMaxBacklog: number;
  membersCacheTtlSeconds: number;
  adminRoles: readonly string[];
  avatarAllowHttp: boolean;
  recallWindowSeconds: number;
  serviceTokens: readonly string[];
  presenceTtlMs: number;
  relayProbeIntervalMs: number;
  shutdownTimeoutMs: number;
  redisCommandTimeoutMs: number;
  sendTimeoutMs: number;
  redisWait: { replicas: number; timeoutMs: number };
  uploads: { dir: string; maxBytes: number; maxFiles: number; maxFields: number; maxFieldBytes: number; allowedTypes: readonly string[] };
}

/** Reads and validates the environment; throws an Error naming each bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const env = readEnv(GatewayEnv, source);
  const algorithms = env.JWT_ALGORITHMS.split(',');
  const symmetric = algorithms.every((a) => a.startsWith('HS'));
  const asymmetric = algorithms.every((a) => !a.startsWith('HS'));
  if (!symmetric && !asymmetric) throw new Error('JWT_ALGORITHMS must not mix HS* with RS*/ES* algorithms');
  const key = symmetric ? env.JWT_SECRET : env.JWT_PUBLIC_KEY;
  if (!key)
    throw new Error(symmetric ? 'JWT_SECRET is required for HS* algorithms (at least 16 characters)' : 'JWT_PUBLIC_KEY is required for RS*/ES* algorithms');
  if (source.WS_ALLOWED_ORIGINS) throw new Error('WS_ALLOWED_ORIGINS is now ALLOWED_ORIGINS: it governs REST (CORS) as well as WebSockets');
  if (env.DEV_TOKENS && env.NODE_ENV === 'production')
    throw new Error('DEV_TOKENS=true is refused with NODE_ENV=production: it lets anyone mint a token for any user');
  if (env.DEV_TOKENS && !symmetric) throw new Error('DEV_TOKENS=true needs JWT_SECRET: tokens are signed with the shared secret');
  return Object.freeze({
    env: env.NODE_ENV,
    devTokens: env.DEV_TOKENS,
    allowedOrigins: Object.freeze(env.ALLOWED_ORIGINS ? env.ALLOWED_ORIGINS.split(',') : []),
    host: env.HOST,
    port: env.PORT,
    nodeId: env.NODE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    logLevel: env.LOG_LEVEL,
    redis: redisTargetOf(env),
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    redisPartitions: env.REDIS_PARTITIONS,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    jwt: Object.freeze({ key, algorithms, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, canSign: symmetric }),
    ws: Object.freeze({
      maxFrameBytes: env.WS_MAX_FRAME_BYTES,
      sendBufferMaxBytes: env.WS_SEND_BUFFER_MAX_BYTES,
      helloTimeoutMs: env.WS_HELLO_TIMEOUT_MS,
      maxSocketsPerUser: env.WS_MAX_SOCKETS_PER_USER,
    }),
    httpBodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
    restRateLimit: Object.freeze({ max: env.REST_RATE_LIMIT, windowMs: env.REST_RATE_WINDOW_SECONDS * 1000 }),
    messageRate: Object.freeze({ perSecond: env.MESSAGE_RATE_PER_SECOND, burst: env.MESSAGE_RATE_BURST }),
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    resumeMaxEvents: env.RESUME_MAX_EVENTS,
    streamMaxBacklog: env.STREAM_MAX_BACKLOG,
    membersCacheTtlSeconds: env.MEMBERS_CACHE_TTL_SECONDS,
    recallWindowSeconds: env.RECALL_WINDOW_SECONDS,
    adminRoles: Object.freeze(env.ADMIN_ROLES.split(',').map((r) => r.trim())),
    avatarAllowHttp: env.AVATAR_ALLOW_HTTP,
    serviceTokens: Object.freeze(env.SERVICE_TOKENS?.split(',') ?? []),
    presenceTtlMs: env.PRESENCE_TTL_SECONDS * 1000,
    relayProbeIntervalMs: env.RELAY_PROBE_INTERVAL_MS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    redisCommandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    sendTimeoutMs: env.SEND_TIMEOUT_MS,
    redisWait: Object.freeze({ replicas: env.REDIS_WAIT_REPLICAS, timeoutMs: env.REDIS_WAIT_TIMEOUT_MS }),
    uploads: Object.freeze({
      dir: env.UPLOAD_DIR,
      maxBytes: env.UPLOAD_MAX_BYTES,
      maxFiles: env.UPLOAD_MAX_FILES,
      maxFields: env.UPLOAD_MAX_FIELDS,
      maxFieldBytes: env.UPLOAD_MAX_FIELD_BYTES,
      allowedTypes: Object.freeze(env.UPLOAD_ALLOWED_TYPES.split(',')),
    }),
  });
}
