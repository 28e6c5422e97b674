import type { FastifyInstance } from 'fastify';

/**
 * A gateway's graceful stop: the listener closes first (no new connections: the load balancer's
 * readiness probe is refused, and its retry sends a new connection to another gateway), the frames
 * already read finish (their acks are written), every socket is closed with 1012 so that its client
 * reconnects elsewhere and resumes, REST requests in flight finish, then Redis and Postgres close.
 * main.ts bounds the whole with SHUTDOWN_TIMEOUT_MS.
 */
export async function drain(app: FastifyInstance, timeoutMs: number): Promise<void> {
  const started = Date.now();
  app.server.close();
  // Most of the time for the sockets; the rest for app.close (requests in flight, connections).
  await app.drainSockets(started + timeoutMs * 0.8);
  app.log.info({ ms: Date.now() - started }, 'sockets drained');
  await app.close();
}
