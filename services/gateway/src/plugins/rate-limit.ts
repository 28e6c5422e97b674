import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { ParleyError } from '@parley/protocol';
import type { GatewayConfig } from '../config.js';

/**
 * REST rate limit per user, shared by every gateway through Redis (@fastify/rate-limit's store),
 * checked after authentication so that the key is the caller. Calls without a user token (health,
 * metrics, the page, the docs, the service API of the customer's backend) are not counted: behind
 * the load balancer they would share one address. Past it: 429 RATE_LIMITED with Retry-After. If
 * Redis cannot count, calls go on: the routes that need Redis fail on their own, the others should not.
 */
export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    await app.register(rateLimit, {
      hook: 'preHandler',
      max: config.restRateLimit.max,
      timeWindow: config.restRateLimit.windowMs,
      redis: app.redis,
      nameSpace: app.keys.restRateNamespace(),
      skipOnError: true,
      // Called before allowList: a call without a caller gets a key it never uses.
      keyGenerator: (request) => request.caller?.id ?? '',
      allowList: (request) => !request.caller,
      errorResponseBuilder: (_request, context) => new ParleyError('RATE_LIMITED', `Too many requests; retry in ${context.after}`),
    });
  },
  { name: 'rate-limit', dependencies: ['redis', 'auth'] },
);
