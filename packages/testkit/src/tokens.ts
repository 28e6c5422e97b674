import { createSigner } from 'fast-jwt';

export const TEST_JWT_SECRET = 'parley-test-secret-0123456789abcdef';
/** The bearer of the server API (/api/service/…) in every test stack. */
export const TEST_SERVICE_TOKEN = 'parley-test-service-token-0123456789abcdef';

export interface TokenOptions {
  secret?: string;
  /** Seconds until expiry; negative for an expired token. */
  expiresIn?: number;
  algorithm?: 'HS256' | 'none';
  claims?: Record<string, unknown>;
}

/** Signs a token as the customer's backend would (or deliberately wrong, for refusal tests). */
export function signToken(sub: string, options: TokenOptions = {}): string {
  const { secret = TEST_JWT_SECRET, expiresIn = 3600, algorithm = 'HS256', claims = {} } = options;
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub, iat: now, exp: now + expiresIn, ...claims };
  if (algorithm === 'none') {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
  }
  return createSigner({ key: secret, algorithm, noTimestamp: true })(payload);
}
