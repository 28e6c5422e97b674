import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import { isWellFormedText, limits, MALFORMED_TEXT, ParleyError } from '@parley/protocol';
import { upsertUser } from '@parley/db';
import { isRevoked } from '../users/revocations.js';
import { avatarUrlOf } from '../users/avatar-url.js';
import type { GatewayConfig } from '../config.js';

/** The caller, from the verified token. */
export interface Caller {
  id: string;
  name: string | null;
  avatar: string | null;
  role: string | null;
  /** A global admin: the token's `role` claim is one of ADMIN_ROLES. */
  isAdmin: boolean;
  /** When the token expires (ms since the epoch): a WebSocket is closed then unless it refreshes. */
  expiresAt: number;
  /** The token's `jti`, when it has one: it may be revoked (POST /api/service/tokens/revoke). */
  jti: string | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preValidation hook: verifies the bearer token (header, or `token` query for browsers' WebSockets). */
    authenticate: (request: FastifyRequest) => Promise<void>;
    /** preValidation hook of the server API: the bearer must be one of SERVICE_TOKENS (header only). */
    authenticateService: (request: FastifyRequest) => Promise<void>;
    /** Verifies a user's token (throws AUTH_TOKEN_INVALID or AUTH_TOKEN_EXPIRED) and returns its caller. */
    verifyToken: (token: string) => Promise<Caller>;
  }
  interface FastifyRequest {
    caller: Caller;
  }
}

/** How many users' profiles a gateway remembers as already written to Postgres. */
const SEEN_USERS_MAX = 50_000;

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
}

export function tokenOf(request: FastifyRequest): string | undefined {
  if (request.headers.authorization) return bearerOf(request);
  const query = request.query as { token?: unknown } | undefined;
  return typeof query?.token === 'string' && query.token.length > 0 ? query.token : undefined;
}

/** The latest instant a JavaScript Date holds, in seconds: an `exp` past it is no time at all. */
const MAX_EXP_SECONDS = 8.64e12;

/**
 * A numeric claim used as an id (`sub`, `jti`) as a string, when it is exactly representable: a
 * whole number from 0 to 2^53 − 1 (JSON numbers past that have already lost digits).
 */
function idOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : undefined;
}

/**
 * The caller a verified token names, or AUTH_TOKEN_INVALID when a claim cannot be represented
 * exactly: text that is not well-formed Unicode, a `sub` or `jti` that is neither a string nor a
 * whole number, an `exp` past the range of dates. REST, `hello` and `refresh_token` all come here.
 */
function callerOf(claims: Record<string, unknown>, config: Pick<GatewayConfig, 'adminRoles' | 'avatarAllowHttp'>): Caller {
  const invalid = (why: string) => new ParleyError('AUTH_TOKEN_INVALID', why);
  if (!isWellFormedText(claims)) throw invalid(`The token's claims: ${MALFORMED_TEXT}`);
  // Laravel's tymon/jwt-auth puts numeric ids in `sub`; a user id is an opaque string here.
  const sub = idOf(claims.sub);
  if (sub === undefined || sub.length === 0 || sub.length > limits.userIdMaxLength || sub.includes('\u0000')) {
    throw invalid('The token has no usable sub claim');
  }
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp > MAX_EXP_SECONDS) throw invalid('The token has no usable exp claim');
  const jti = claims.jti === undefined ? undefined : idOf(claims.jti);
  if (claims.jti !== undefined && (jti === undefined || jti.length === 0 || jti.length > limits.jtiMaxLength))
    throw invalid('The token has no usable jti claim');
  // Profile claims are informational: NUL (which Postgres cannot store) is dropped, length capped.
  const str = (v: unknown, max: number) => (typeof v === 'string' ? v.replaceAll('\u0000', '').slice(0, max) : null);
  const role = str(claims.role, 32);
  const avatar = str(claims.avatar, 2048);
  return {
    id: sub,
    name: str(claims.name, 100),
    avatar: avatar === null ? null : avatarUrlOf(avatar, config.avatarAllowHttp),
    role,
    isAdmin: role !== null && config.adminRoles.includes(role),
    expiresAt: exp * 1000,
    jti,
  };
}

export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    const { jwt } = config;
    await app.register(fastifyJwt, {
      // With a public key the plugin is verify-only: tokens come from the customer's backend.
      secret: jwt.canSign ? jwt.key : { public: jwt.key },
      sign: jwt.canSign ? { algorithm: jwt.algorithms[0] as 'HS256' } : undefined,
      verify: {
        algorithms: jwt.algorithms as ['HS256'],
        // Verified tokens are remembered (LRU, never past their exp): a client's every request
        // carries the same token, and a signature check per request is most of a short request's cost.
        cache: 10_000,
        // allowedIss/allowedAud only check a claim that is present: require it too.
        requiredClaims: ['exp', 'sub', ...(jwt.issuer ? ['iss'] : []), ...(jwt.audience ? ['aud'] : [])],
        ...(jwt.issuer ? { allowedIss: jwt.issuer } : {}),
        ...(jwt.audience ? { allowedAud: jwt.audience } : {}),
      },
    });

    // Profiles written to Postgres, so that a user is upserted on first sight, not on every request.
    const seen = new Map<string, string>();
    async function remember(caller: Caller) {
      const fingerprint = `${caller.name}\u0000${caller.avatar}\u0000${caller.role}`;
      if (seen.get(caller.id) === fingerprint) return;
      await upsertUser(app.db, caller);
      seen.delete(caller.id);
      seen.set(caller.id, fingerprint);
      if (seen.size > SEEN_USERS_MAX) seen.delete(seen.keys().next().value!);
    }

    app.decorate('verifyToken', async (token: string) => {
      // No backend issues tokens this long: refuse before decoding (and hashing for the cache) a blob.
      if (token.length > limits.tokenMaxLength) throw new ParleyError('AUTH_TOKEN_INVALID', `A token is at most ${limits.tokenMaxLength} characters`);
      let claims: Record<string, unknown>;
      try {
        claims = app.jwt.verify<Record<string, unknown>>(token);
      } catch (err) {
        const code = (err as { code?: string }).code;
        throw new ParleyError(code === 'FAST_JWT_EXPIRED' ? 'AUTH_TOKEN_EXPIRED' : 'AUTH_TOKEN_INVALID');
      }
      const caller = callerOf(claims, config);
      if (caller.jti !== undefined && (await isRevoked(app.redis, app.keys, caller.jti))) throw new ParleyError('AUTH_TOKEN_REVOKED');
      await remember(caller);
      return caller;
    });
    app.decorateRequest('caller', null as unknown as Caller);
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const token = tokenOf(request);
      if (!token) throw new ParleyError('AUTH_TOKEN_MISSING');
      request.caller = await app.verifyToken(token);
    });

    // Compared as digests, in constant time: equal lengths, and nothing learnt from timing.
    const digest = (token: string) => createHash('sha256').update(token).digest();
    const serviceDigests = config.serviceTokens.map(digest);
    app.decorate('authenticateService', async (request: FastifyRequest) => {
      const token = bearerOf(request);
      if (!token) throw new ParleyError('AUTH_TOKEN_MISSING');
      const given = digest(token);
      if (!serviceDigests.some((d) => timingSafeEqual(d, given))) throw new ParleyError('AUTH_TOKEN_INVALID', 'Not a service token');
    });
  },
  { name: 'auth', dependencies: ['db', 'redis'] },
);
