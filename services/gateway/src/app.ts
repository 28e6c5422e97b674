import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { GatewayConfig } from './config.js';
import errors, { sendError } from './plugins/errors.js';
import sendDeadline from './plugins/send-deadline.js';
import { validatorsByPart } from './schema-validation.js';
import wellFormedText from './plugins/well-formed-text.js';
import cors from './plugins/cors.js';
import metrics from './plugins/metrics.js';
import openapi from './plugins/openapi.js';
import redis from './plugins/redis.js';
import db from './plugins/db.js';
import auth from './plugins/auth.js';
import core from './plugins/core.js';
import rateLimit from './plugins/rate-limit.js';
import ws from './ws/endpoint.js';
import health from './routes/health.js';
import devTokens from './routes/dev-tokens.js';
import chats from './routes/chats.js';
import participants from './routes/participants.js';
import messages from './routes/messages.js';
import search from './routes/search.js';
import service from './routes/service.js';
import readState from './routes/read-state.js';
import users from './routes/users.js';
import chatPage from './routes/chat-page.js';
import files from './routes/files.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: GatewayConfig;
  }
}

/**
 * A request is logged by its path alone: a query string may hold a token (a browser's WebSocket
 * URL, however its key is spelt or encoded) or a search keyword, which is message text.
 */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * Builds the gateway without listening: main.ts listens, tests inject or listen on port 0. Its log
 * (pino, JSON lines) goes to stdout unless `logStream` is given (a test's in-process gateway).
 */
export async function buildApp(config: GatewayConfig, { logStream }: { logStream?: { write(line: string): void } } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      ...(logStream ? { stream: logStream } : {}),
      level: config.logLevel,
      base: { node: config.nodeId },
      redact: ['req.headers.authorization'],
      serializers: {
        req: (req) => ({ method: req.method, url: pathOf(req.url), remoteAddress: req.ip }),
      },
    },
    bodyLimit: config.httpBodyLimitBytes,
    // Far past any valid id percent-encoded (128 characters of up to 9 bytes' escapes each).
    routerOptions: { maxParamLength: 2048 },
    frameworkErrors: (err, request, reply) => void sendError(err, request, reply),
    schemaController: { compilersFactory: { buildValidator: validatorsByPart } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('config', config);
  // Which gateway answered: for operators behind the load balancer, and for the README's tour.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-parley-node', config.nodeId);
  });
  await app.register(errors);
  await app.register(sendDeadline, { config });
  await app.register(wellFormedText);
  await app.register(cors, { config });
  await app.register(openapi);
  await app.register(metrics, { config });
  await app.register(redis, { config });
  await app.register(db, { config });
  await app.register(auth, { config });
  await app.register(core, { config });
  await app.register(rateLimit, { config });
  await app.register(ws, { config });
  await app.register(health);
  await app.register(chats);
  await app.register(participants);
  await app.register(messages);
  await app.register(search);
  await app.register(readState);
  await app.register(users);
  await app.register(files);
  await app.register(chatPage);
  if (config.serviceTokens.length > 0) await app.register(service);
  if (config.devTokens) await app.register(devTokens);
  return app;
}
