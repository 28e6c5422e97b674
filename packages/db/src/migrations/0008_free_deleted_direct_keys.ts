import { sql, type Kysely } from 'kysely';

/**
 * A deleted direct room gives up its pair key, so that the pair can open a new one: before, the key
 * stayed and `POST /api/chats {type: "direct"}` answered the deleted room for ever. A live direct
 * room holds its key, and only it: deleteRoom clears the key from now on, this clears it for rooms
 * deleted before, and the check says so.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update rooms set direct_key = null where deleted_at is not null and direct_key is not null`.execute(db);
  await sql`alter table rooms drop constraint rooms_direct_key`.execute(db);
  await sql`alter table rooms add constraint rooms_direct_key check ((direct_key is not null) = (type = 'direct' and deleted_at is null))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table rooms drop constraint rooms_direct_key`.execute(db);
  // The old check wants a key on every direct room: a deleted one gets one no pair can ask for.
  await sql`update rooms set direct_key = 'deleted:' || id where type = 'direct' and direct_key is null`.execute(db);
  await sql`alter table rooms add constraint rooms_direct_key check ((type = 'direct') = (direct_key is not null))`.execute(db);
}
