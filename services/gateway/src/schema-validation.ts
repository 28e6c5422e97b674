import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import type { TSchema } from '@sinclair/typebox';

/**
 * One way to check input against the protocol's schemas, for REST and WebSocket alike: Fastify's
 * own Ajv setup (ajv-formats; `maxLength` counts characters, code points, as JSON Schema says).
 * Bodies and frames are strict (`{"content": true}` is refused, not stored as "true"); only the
 * path and the query, which are text by nature, are parsed into numbers and arrays.
 */
const compilers = AjvCompiler();
const strict = { customOptions: { removeAdditional: false, coerceTypes: false } } as const;
const lax = { customOptions: { removeAdditional: false, coerceTypes: 'array' } } as const;

export const validatorsByPart: ValidatorFactory = (externalSchemas) => {
  const bodies = compilers(externalSchemas, strict);
  const text = compilers(externalSchemas, lax);
  return (route) => (route.httpPart === 'body' ? bodies : text)(route);
};

/** A validator for one frame schema, as strict as a REST body's; its `errors` name the first problem. */
export function compileFrameValidator(schema: TSchema) {
  return compilers({}, strict)({ schema, method: 'GET', url: '/ws', httpPart: 'body' });
}
