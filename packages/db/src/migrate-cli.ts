#!/usr/bin/env node
// `parley-migrate`: applies every pending migration to DATABASE_URL, then exits.
import { createDb } from './connect.js';
import { migrateToLatest } from './migrator.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required (for example postgres://parley@127.0.0.1:5432/parley)');
  process.exit(2);
}
const db = createDb({ url, poolSize: 1 });
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
} catch (err) {
  console.error('migration failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
