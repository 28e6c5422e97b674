#!/usr/bin/env node
// `parley-token <user-id> [--name NAME] [--role ROLE] [--ttl SECONDS]`: prints a development token
// signed with JWT_SECRET, as the customer's backend would issue. Refuses to run in production.
import { parseArgs } from 'node:util';
import { createSigner } from 'fast-jwt';

const usage = 'usage: parley-token <user-id> [--name NAME] [--role ROLE] [--ttl SECONDS]   (JWT_SECRET from the environment)';

function fail(message: string): never {
  console.error(`parley-token: ${message}\n${usage}`);
  process.exit(2);
}

if (process.env.NODE_ENV === 'production') fail('development tokens are not minted when NODE_ENV=production');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, role: { type: 'string' }, ttl: { type: 'string', default: '86400' } },
});
const [sub] = positionals;
if (!sub || positionals.length > 1) fail('give exactly one user id');
const secret = process.env.JWT_SECRET;
if (!secret || secret.length < 16) fail('JWT_SECRET must be set (at least 16 characters)');
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl < 1) fail('--ttl must be a positive whole number of seconds');

const sign = createSigner({
  key: secret,
  algorithm: 'HS256',
  expiresIn: ttl * 1000,
  ...(process.env.JWT_ISSUER ? { iss: process.env.JWT_ISSUER } : {}),
  ...(process.env.JWT_AUDIENCE ? { aud: process.env.JWT_AUDIENCE } : {}),
});
console.log(sign({ sub, ...(values.name ? { name: values.name } : {}), ...(values.role ? { role: values.role } : {}) }));
