import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DevTokenBody, DevTokenResponse, ErrorBody } from '@parley/protocol';

/**
 * POST /dev/tokens: mints a token for any user, so that the demo and tests run without the
 * customer's backend. Registered only with DEV_TOKENS=true (refused in production, and without a
 * shared secret).
 */
const devTokens: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/dev/tokens', { schema: { body: DevTokenBody, response: { 200: DevTokenResponse, 400: ErrorBody } } }, async (request) => {
    const { sub, name, role, expires_in: expiresIn = 86_400 } = request.body;
    const token = app.jwt.sign(
      { sub, ...(name ? { name } : {}), ...(role ? { role } : {}) },
      {
        // @fastify/jwt takes a number as seconds (jsonwebtoken's convention), not fast-jwt's milliseconds.
        expiresIn,
        ...(app.config.jwt.issuer ? { iss: app.config.jwt.issuer } : {}),
        ...(app.config.jwt.audience ? { aud: app.config.jwt.audience } : {}),
      },
    );
    return { token, expires_at: new Date(Date.now() + expiresIn * 1000).toISOString() };
  });
};
export default devTokens;
