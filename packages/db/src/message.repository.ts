import { sql, type Kysely } from 'kysely';
import type { Database, MessageRow, NewMessage } from './database.js';

/**
 * Inserts a batch; rows already present (a replayed stream entry: the same room and seq) are
 * skipped, which makes persisting idempotent. The rows travel as one array per column and
 * `unnest` turns them back into rows: a fixed number of parameters whatever the batch size, where a
 * VALUES list would take one per row and column and cost Postgres a parse and plan that grow with it.
 */
export async function insertMessages(db: Kysely<Database>, rows: NewMessage[]): Promise<number> {
  if (rows.length === 0) return 0;
  const column = <K extends keyof NewMessage>(k: K) => rows.map((r) => r[k] ?? null);
  const json = (k: 'system' | 'attachment' | 'forwarded_from') => rows.map((r) => (r[k] ? JSON.stringify(r[k]) : null));
  const result = await sql`
    insert into messages (room_id, seq, id, sender_id, client_id, kind, target_seq, type, content, system, attachment, forwarded_from, recalled, created_at)
    select * from unnest(
      ${column('room_id')}::bigint[], ${column('seq')}::bigint[], ${column('id')}::uuid[], ${column('sender_id')}::text[],
      ${column('client_id')}::text[], ${rows.map((r) => r.kind ?? 'message')}::text[], ${column('target_seq')}::bigint[],
      ${column('type')}::text[], ${column('content')}::text[], ${json('system')}::jsonb[], ${json('attachment')}::jsonb[],
      ${json('forwarded_from')}::jsonb[], ${rows.map((r) => r.recalled ?? false)}::boolean[], ${column('created_at')}::timestamptz[])
    on conflict do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Brings each listed message row to the state its edits and deletions give it: the latest edit's
 * text and time, or a tombstone (empty content, and the edits' texts emptied too) once deleted.
 * Recomputed from the change rows rather than applied one by one, so it is idempotent and the result
 * is the same whichever persister wrote the message and whichever its changes, in whatever order.
 */
export async function applyMessageChanges(db: Kysely<Database>, targets: Array<{ room_id: number; seq: number }>): Promise<void> {
  if (targets.length === 0) return;
  const rooms = targets.map((t) => t.room_id);
  const seqs = targets.map((t) => t.seq);
  await sql`
    with t(room_id, seq) as (select distinct * from unnest(${rooms}::bigint[], ${seqs}::bigint[])),
    edit as (
      select distinct on (e.room_id, e.target_seq) e.room_id, e.target_seq, e.content, e.created_at
      from messages e join t on e.room_id = t.room_id and e.target_seq = t.seq
      where e.kind = 'edit' order by e.room_id, e.target_seq, e.seq desc),
    del as (
      select distinct on (d.room_id, d.target_seq) d.room_id, d.target_seq, d.sender_id, d.created_at, d.recalled
      from messages d join t on d.room_id = t.room_id and d.target_seq = t.seq
      where d.kind = 'delete' order by d.room_id, d.target_seq, d.seq)
    update messages m set
      content = case when del.target_seq is not null then '' else coalesce(edit.content, m.content) end,
      edited_at = edit.created_at,
      deleted_at = del.created_at,
      deleted_by = del.sender_id,
      recalled = coalesce(del.recalled, false)
    from t left join edit on edit.room_id = t.room_id and edit.target_seq = t.seq
      left join del on del.room_id = t.room_id and del.target_seq = t.seq
    where m.room_id = t.room_id and m.seq = t.seq and m.kind = 'message' and (edit.target_seq is not null or del.target_seq is not null)`.execute(db);
  await sql`
    update messages e set content = ''
    from unnest(${rooms}::bigint[], ${seqs}::bigint[]) as t(room_id, seq)
    where e.room_id = t.room_id and e.target_seq = t.seq and e.kind = 'edit' and e.content <> ''
      and exists (select 1 from messages d where d.room_id = t.room_id and d.target_seq = t.seq and d.kind = 'delete')`.execute(db);
  // A deleted message's file is hidden too (the gateway that deleted it hid it already, unless it died first).
  await sql`
    update files f set hidden_at = m.deleted_at
    from unnest(${rooms}::bigint[], ${seqs}::bigint[]) as t(room_id, seq)
    join messages m on m.room_id = t.room_id and m.seq = t.seq and m.kind = 'message'
    where m.deleted_at is not null and m.attachment is not null and f.id = (m.attachment->>'id')::uuid and f.hidden_at is null`.execute(db);
}

/** Messages of a room with fromSeq <= seq <= toSeq, in seq order. */
export async function messagesInRange(db: Kysely<Database>, roomId: number, fromSeq: number, toSeq: number): Promise<MessageRow[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('room_id', '=', roomId)
    .where('seq', '>=', fromSeq)
    .where('seq', '<=', toSeq)
    .orderBy('seq')
    .execute();
}

/** The newest message row of each of these rooms that has one. */
export async function latestMessageRows(db: Kysely<Database>, roomIds: number[]): Promise<MessageRow[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .distinctOn('room_id')
    .where('room_id', 'in', roomIds)
    .where('kind', '=', 'message')
    .orderBy('room_id')
    .orderBy('seq', 'desc')
    .execute();
}

/**
 * The highest seq up to which the room's events are all accounted for, given that they all are up
 * to `known`: in Postgres, or among `deadLettered` (seqs the persisters set aside, which Postgres
 * refused). Seqs after `known` that equal known + their rank form the contiguous run.
 */
export async function contiguousPersistedSeq(db: Kysely<Database>, roomId: number, known: number, deadLettered: number[] = []): Promise<number> {
  const row = await sql<{ upto: number | null }>`
    select max(seq)::bigint as upto from (
      select seq, seq - row_number() over (order by seq) as run from (
        select seq from messages where room_id = ${roomId} and seq > ${known}
        union select unnest(${deadLettered}::bigint[])
      ) accounted where seq > ${known}
    ) s where run = ${known}`.execute(db);
  return Number(row.rows[0]?.upto ?? known);
}

export async function countMessages(db: Kysely<Database>, roomId?: number): Promise<number> {
  let q = db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n'));
  if (roomId !== undefined) q = q.where('room_id', '=', roomId);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface MessageSearch {
  userId: string;
  keyword: string;
  roomId?: number;
  limit: number;
  skip: number;
}

/**
 * The caller's messages containing `keyword` (case-insensitive), in rooms the caller belongs to,
 * newest first. The GIN index `messages_search` narrows the rows to those holding every character
 * pair of the keyword (the character itself when it is one); `strpos` then keeps true substrings.
 */
export function searchMessagesQuery(db: Kysely<Database>, s: MessageSearch) {
  let q = db
    .selectFrom('messages as m')
    .innerJoin('room_members as me', (j) => j.onRef('me.room_id', '=', 'm.room_id').on('me.user_id', '=', s.userId))
    .selectAll('m')
    .where('m.kind', '=', 'message')
    .where('m.deleted_at', 'is', null)
    .where('m.type', '<>', 'system')
    .where(sql<boolean>`message_search_terms(m.content) @> message_search_query(${s.keyword})`)
    .where(sql<boolean>`strpos(lower(m.content), lower(${s.keyword})) > 0`);
  if (s.roomId !== undefined) q = q.where('m.room_id', '=', s.roomId);
  return q.orderBy('m.created_at', 'desc').orderBy('m.room_id').orderBy('m.seq', 'desc').limit(s.limit).offset(s.skip);
}

export async function searchMessages(db: Kysely<Database>, s: MessageSearch): Promise<MessageRow[]> {
  return searchMessagesQuery(db, s).execute();
}
