import { sql, type Kysely } from 'kysely';

/**
 * Every acked seq is stored. A client_id is deduplicated in Redis for IDEMPOTENCY_TTL_SECONDS; a
 * resend after that (or after Redis lost its data) is a new message with a seq of its own, and the
 * unique key on (room, sender, client_id) made Postgres drop that acked seq silently: a hole in the
 * room's history and a persisted watermark stuck below it. Replays of one stream entry are still
 * skipped, by the primary key (room, seq).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table messages drop constraint messages_client_id`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Keeps the oldest copy of each client_id, as the unique key did.
  await sql`
    delete from messages m using messages o
    where m.room_id = o.room_id and m.sender_id = o.sender_id and m.client_id = o.client_id and m.seq > o.seq`.execute(db);
  await sql`alter table messages add constraint messages_client_id unique (room_id, sender_id, client_id)`.execute(db);
}
