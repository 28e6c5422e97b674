import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as m0001 from './migrations/0001_create_core.js';
import * as m0002 from './migrations/0002_extend_rooms_messages.js';
import * as m0003 from './migrations/0003_faster_search_terms.js';
import * as m0004 from './migrations/0004_delivered_positions.js';
import * as m0005 from './migrations/0005_stats_and_mute.js';
import * as m0006 from './migrations/0006_files.js';
import * as m0007 from './migrations/0007_drop_client_id_unique.js';
import * as m0008 from './migrations/0008_free_deleted_direct_keys.js';
import * as m0009 from './migrations/0009_message_fold.js';
import * as m0010 from './migrations/0010_search_blocks.js';
import * as m0011 from './migrations/0011_lean_message_insert.js';

/** Migrations are imported statically so that compiled and bundled builds carry them. */
const migrations: Record<string, Migration> = {
  '0001_create_core': m0001,
  '0002_extend_rooms_messages': m0002,
  '0003_faster_search_terms': m0003,
  '0004_delivered_positions': m0004,
  '0005_stats_and_mute': m0005,
  '0006_files': m0006,
  '0007_drop_client_id_unique': m0007,
  '0008_free_deleted_direct_keys': m0008,
  '0009_message_fold': m0009,
  '0010_search_blocks': m0010,
  '0011_lean_message_insert': m0011,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema to the newest migration; throws with the failing migration's error. */
// Kysely's Migrator takes a database of any schema: migrations run before the schema they make.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('a migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
