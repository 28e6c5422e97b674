import { sql, type Kysely } from 'kysely';
import type { Database } from './database.js';

/** The newest seq Postgres holds of each room that has any (rooms with none are left out). */
export async function persistedHeads(db: Kysely<Database>, roomIds: number[]): Promise<Map<number, number>> {
  if (roomIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('messages')
    .select(['room_id', (eb) => eb.fn.max('seq').as('head')])
    .where('room_id', 'in', roomIds)
    .groupBy('room_id')
    .execute();
  return new Map(rows.map((r) => [Number(r.room_id), Number(r.head)]));
}

/** A user's read and delivered positions in each of their rooms, as last persisted. */
export async function positionsOf(db: Kysely<Database>, userId: string): Promise<Array<{ roomId: number; read: number; delivered: number }>> {
  const rows = await db.selectFrom('room_members').select(['room_id', 'last_read_seq', 'last_delivered_seq']).where('user_id', '=', userId).execute();
  return rows.map((r) => ({ roomId: Number(r.room_id), read: Number(r.last_read_seq), delivered: Number(r.last_delivered_seq) }));
}

export interface PositionMark {
  kind: 'read' | 'delivered';
  room_id: number;
  user_id: string;
  seq: number;
}

/**
 * Stores read and delivered positions; a position never moves back (`greatest`), so marks may be
 * applied in any order and more than once. Marks of a member who has since left match no row.
 */
export async function applyPositionMarks(db: Kysely<Database>, marks: PositionMark[]): Promise<void> {
  if (marks.length === 0) return;
  await sql`
    update room_members m set
      last_read_seq = greatest(m.last_read_seq, t.read),
      last_delivered_seq = greatest(m.last_delivered_seq, t.delivered)
    from (
      select room_id, user_id,
        coalesce(max(seq) filter (where kind = 'read'), 0) as read,
        coalesce(max(seq) filter (where kind = 'delivered'), 0) as delivered
      from unnest(${marks.map((r) => r.kind)}::text[], ${marks.map((r) => r.room_id)}::bigint[], ${marks.map((r) => r.user_id)}::text[], ${marks.map((r) => r.seq)}::bigint[])
        as u(kind, room_id, user_id, seq)
      group by room_id, user_id
    ) t
    where m.room_id = t.room_id and m.user_id = t.user_id`.execute(db);
}
