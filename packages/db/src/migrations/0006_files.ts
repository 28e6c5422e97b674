import { sql, type Kysely } from 'kysely';

/**
 * Files uploaded to rooms. The bytes live in the file storage under `storage_key` (a generated
 * name; a forwarded copy shares its original's); the row keeps what the upload learnt of them. A
 * file is hidden (`hidden_at`) when a message carrying it is deleted or recalled: it is then neither
 * listed nor downloaded. A room's list pages newest first by (created_at, id).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('files')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('room_id', 'bigint', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('uploader_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('mime_type', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('hidden_at', 'timestamptz')
    .execute();
  await sql`create index files_room on files (room_id, created_at desc, id desc) where hidden_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('files').execute();
}
