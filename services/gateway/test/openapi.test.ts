import t from 'tap';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { Stack } from '@parley/testkit';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

/** Every route of an app, as `METHOD /path/{param}`, read from Fastify's route tree (HEAD left out: Fastify adds it to each GET). */
function routesOf(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of match[3]?.split(', ') ?? []) if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return routes;
}

t.test('the OpenAPI document validates and covers every route; /docs serves it', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0 });
  const app = await buildApp(loadConfig({ ...stack.env, NODE_ENV: 'development', LOG_LEVEL: 'silent' }));
  t.teardown(() => app.close());
  await app.ready();

  const doc = app.swagger() as OpenAPIV3_1.Document;
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'valid OpenAPI 3.1 (swagger-parser)');

  const documented = new Set(Object.entries(doc.paths ?? {}).flatMap(([path, item]) => Object.keys(item ?? {}).map((m) => `${m.toUpperCase()} ${path}`)));
  // Swagger UI's own routes (/docs, its assets and /docs/json) describe the document, not the API;
  // `OPTIONS *` answers CORS preflights for every path (plugins/cors.ts), no operation of its own.
  const routes = routesOf(app.printRoutes({ commonPrefix: false })).filter((r) => !/ \/docs(\/|$)/.test(r) && r !== 'OPTIONS *');
  t.ok(routes.length > 30, `${routes.length} routes`);
  for (const route of routes) t.ok(documented.has(route), `documented: ${route}`);
  for (const op of documented) t.ok(routes.includes(op) || / \/docs(\/|$)/.test(op), `exists: ${op}`);

  // Documented from the protocol's schemas: the send body, its ack and the error body.
  const send = doc.paths!['/api/chats/{id}/messages']!.post!;
  t.match(send, { tags: ['chats'], security: [{ bearer: [] }] });
  t.match((send.requestBody as OpenAPIV3_1.RequestBodyObject).content['application/json']!.schema, { required: ['client_id'] });
  t.match((send.responses['201'] as OpenAPIV3_1.ResponseObject).content!['application/json']!.schema, { properties: { seq: {}, duplicate: {} } });
  t.match((send.responses['403'] as OpenAPIV3_1.ResponseObject).content!['application/json']!.schema, { properties: { code: {} } });
  t.match(doc.paths!['/api/service/chats']!.post, { security: [{ serviceToken: [] }] }, 'service routes take a service token');
  t.match(doc.paths!['/ws']!.get, { tags: ['ws'], security: [{ bearer: [] }], responses: { 101: {} } }, 'the WebSocket handshake is documented');

  const gw = stack.gateways[0]!;
  const page = await fetch(`${gw.url}/docs/static/index.html`);
  t.equal(page.status, 200, 'Swagger UI at /docs');
  t.match(await page.text(), /swagger/i);
  const served = (await (await fetch(`${gw.url}/docs/json`)).json()) as OpenAPIV3_1.Document;
  // The built gateway also serves the /chat page (from dist/web, which the sources' app has not).
  t.same(
    Object.keys(served.paths ?? {})
      .filter((p) => !p.startsWith('/chat/') && p !== '/chat')
      .sort(),
    Object.keys(doc.paths ?? {}).sort(),
    'a running gateway serves the same document at /docs/json',
  );
  t.ok(served.paths?.['/chat']?.get, 'with the /chat page');
});
