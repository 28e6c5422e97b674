import { createSigner } from 'fast-jwt';

export interface DevTokenOptions {
  name?: string;
  role?: string;
  ttlSeconds: number;
}

/**
 * A development token signed with JWT_SECRET (HS256), as the customer's backend would issue one;
 * with JWT_ISSUER / JWT_AUDIENCE when the gateways check them. Refused when NODE_ENV=production.
 */
export function devToken(env: NodeJS.ProcessEnv, sub: string, { name, role, ttlSeconds }: DevTokenOptions): string {
  if (env.NODE_ENV === 'production') throw new UsageError('development tokens are not minted when NODE_ENV=production');
  const secret = env.JWT_SECRET;
  if (!secret || secret.length < 16) throw new UsageError('JWT_SECRET must be set (at least 16 characters), or pass --token');
  const sign = createSigner({
    key: secret,
    algorithm: 'HS256',
    expiresIn: ttlSeconds * 1000,
    ...(env.JWT_ISSUER ? { iss: env.JWT_ISSUER } : {}),
    ...(env.JWT_AUDIENCE ? { aud: env.JWT_AUDIENCE } : {}),
  });
  return sign({ sub, ...(name ? { name } : {}), ...(role ? { role } : {}) });
}

/** A mistake of the caller's: printed with the usage, exit status 2. */
export class UsageError extends Error {}
