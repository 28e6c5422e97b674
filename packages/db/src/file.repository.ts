import { sql, type Kysely } from 'kysely';
import type { Database, FileRow, NewFile } from './database.js';

export async function insertFile(db: Kysely<Database>, row: NewFile): Promise<FileRow> {
  return db.insertInto('files').values(row).returningAll().executeTakeFirstOrThrow();
}

/** A file that is not hidden, whatever its room (the caller checks the room). */
export async function visibleFile(db: Kysely<Database>, id: string): Promise<FileRow | undefined> {
  return db.selectFrom('files').selectAll().where('id', '=', id).where('hidden_at', 'is', null).executeTakeFirst();
}

/** A room's visible files, newest first, `limit` of them after the file `before` (exclusive). */
export async function roomFiles(db: Kysely<Database>, roomId: number, before: string | undefined, limit: number): Promise<FileRow[]> {
  let query = db.selectFrom('files').selectAll().where('room_id', '=', roomId).where('hidden_at', 'is', null);
  if (before) {
    query = query.where(({ eb, refTuple, selectFrom }) =>
      eb(refTuple('created_at', 'id'), '<', selectFrom('files').select(['created_at', 'id']).where('id', '=', before).where('room_id', '=', roomId) as never),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Hides files (their message was deleted): no longer listed nor downloadable. */
export async function hideFiles(db: Kysely<Database>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('files')
    .set({ hidden_at: sql`now()` })
    .where('id', 'in', ids)
    .where('hidden_at', 'is', null)
    .execute();
}

/** A copy of a file's record under `id` in another room (a forwarded message's), sharing its stored bytes; the existing one if `id` is taken. */
export async function copyFile(db: Kysely<Database>, file: FileRow, id: string, roomId: number, uploaderId: string): Promise<FileRow> {
  const { created_at: _created, hidden_at: _hidden, ...rest } = file;
  await db
    .insertInto('files')
    .values({ ...rest, id, room_id: roomId, uploader_id: uploaderId })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}
