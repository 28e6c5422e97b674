// A Fastify hello-world route: the REST benchmark's baseline for what one Node process serves.
import Fastify from 'fastify';

const app = Fastify();
app.get('/hello', async () => ({ hello: 'world' }));
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ msg: 'ready', port: (app.server.address() as { port: number }).port }));
