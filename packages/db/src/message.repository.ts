import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CopyIn } from './connect.js';
import type { Database, MessageRow, NewMessage } from './database.js';

/**
 * Inserts a batch and brings every message it touches to the state its changes give it; returns
 * how many rows were new. Rows already present (a replayed stream entry: the same room and seq) are
 * skipped, which makes persisting idempotent. The rows travel as one JSON array that
 * `json_to_recordset` turns back into rows: one parameter whatever the batch size, and
 * JSON.stringify is native, where arrays per column cost the driver an escape per value (half the
 * persister's CPU per message went there). Text is made well-formed first, as the driver's UTF-8
 * encoding did (a lone surrogate becomes U+FFFD); JSON columns keep theirs, which Postgres refuses.
 *
 * The messages to fold (applyMessageChanges) are the targets of the batch's edits and deletions,
 * and the batch's new messages that change rows were written for before them (another persister
 * may have written a change first). The insert finds the latter itself, with a probe of the change
 * index per new message, so that a batch without changes (nearly every one) is one statement: a fold
 * statement per batch cost Postgres about 4 ms of planning and probing at 1,000 messages a second.
 */
export async function insertMessages(db: Kysely<Database>, rows: NewMessage[]): Promise<number> {
  if (rows.length === 0) return 0;
  const records = rows.map((r) => ({
    room_id: r.room_id,
    seq: r.seq,
    id: r.id,
    sender_id: r.sender_id === null || r.sender_id === undefined ? null : wellFormed(r.sender_id),
    client_id: wellFormed(r.client_id),
    kind: r.kind ?? 'message',
    target_seq: r.target_seq ?? null,
    type: wellFormed(r.type),
    content: wellFormed(r.content),
    system: r.system ?? null,
    attachment: r.attachment ?? null,
    forwarded_from: r.forwarded_from ?? null,
    recalled: r.recalled ?? false,
    created_at: r.created_at,
  }));
  // The probe's snapshot predates the insert: a change in this very batch is among `targets` instead.
  const result = await sql<{ inserted: number; rooms: string[]; seqs: string[] }>`
    with ins as (
      insert into messages (room_id, seq, id, sender_id, client_id, kind, target_seq, type, content, system, attachment, forwarded_from, recalled, created_at)
      select * from json_to_recordset(${JSON.stringify(records)}::json) as r(room_id bigint, seq bigint, id uuid, sender_id text, client_id text,
        kind text, target_seq bigint, type text, content text, system jsonb, attachment jsonb, forwarded_from jsonb, recalled boolean, created_at timestamptz)
      on conflict do nothing
      returning room_id, seq, kind),
    probed as (
      select i.room_id, i.seq,
        i.kind = 'message' and ${changedBefore(sql.ref('i.room_id'), sql.ref('i.seq'))} as changed
      from ins i)
    select count(*)::int as inserted,
      coalesce(array_agg(room_id) filter (where changed), '{}') as rooms, coalesce(array_agg(seq) filter (where changed), '{}') as seqs
    from probed`.execute(db);
  const { inserted, rooms, seqs } = result.rows[0]!;
  const targets = changeTargets(rows);
  for (let i = 0; i < rooms.length; i++) targets.push({ room_id: Number(rooms[i]), seq: Number(seqs[i]) });
  await applyMessageChanges(db, targets);
  return inserted;
}

/** Whether the message at (`room`, `seq`) has edits or deletions in Postgres already: then it must be folded. */
function changedBefore(room: RawBuilder<unknown>, seq: RawBuilder<unknown>) {
  return sql<boolean>`exists (select 1 from messages c where c.room_id = ${room} and c.target_seq = ${seq} and c.kind <> 'message')`;
}

/** The messages a batch's edits and deletions change. */
function changeTargets(rows: NewMessage[]): Array<{ room_id: number; seq: number }> {
  return rows.flatMap((r) => (r.target_seq === undefined || r.target_seq === null ? [] : [{ room_id: r.room_id, seq: r.target_seq }]));
}

/**
 * insertMessages for rows none of which is in Postgres yet, by COPY: about half Postgres' work per
 * row of the insert statement (bench/README.md), to the same end. COPY has no ON CONFLICT: a row
 * already present (a replayed stream entry) fails the statement with unique_violation (23505), and
 * the batch is to be written with insertMessages instead. `trx` and `copy` are one transaction's
 * (copyTransaction). Text goes as UTF-8, which turns a lone surrogate into U+FFFD, as insertMessages
 * does; a JSON column keeps its, which Postgres refuses.
 */
export async function copyMessages(trx: Kysely<Database>, copy: CopyIn, rows: NewMessage[]): Promise<number> {
  if (rows.length === 0) return 0;
  let data = '';
  for (const r of rows) {
    const createdAt = r.created_at instanceof Date ? r.created_at.toISOString() : r.created_at;
    data +=
      `${copyText(r.room_id)}\t${copyText(r.seq)}\t${copyText(r.id)}\t${copyText(r.sender_id)}\t${copyText(r.client_id)}\t` +
      `${copyText(r.kind ?? 'message')}\t${copyText(r.target_seq)}\t${copyText(r.type)}\t${copyText(r.content)}\t${copyJson(r.system)}\t` +
      `${copyJson(r.attachment)}\t${copyJson(r.forwarded_from)}\t${copyText(r.recalled ?? false)}\t${copyText(createdAt)}\n`;
  }
  const copied = await copy(
    'copy messages (room_id, seq, id, sender_id, client_id, kind, target_seq, type, content, system, attachment, forwarded_from, recalled, created_at) from stdin',
    data,
  );
  // New messages that rows written before them change (another persister wrote an edit first).
  const fresh = rows.filter((r) => (r.kind ?? 'message') === 'message');
  const targets = changeTargets(rows);
  if (fresh.length > 0) {
    const changed = await sql<{ room_id: number; seq: number }>`
      select t.room_id, t.seq from unnest(${fresh.map((r) => r.room_id)}::bigint[], ${fresh.map((r) => r.seq)}::bigint[]) as t(room_id, seq)
      where ${changedBefore(sql.ref('t.room_id'), sql.ref('t.seq'))}`.execute(trx);
    targets.push(...changed.rows);
  }
  await applyMessageChanges(trx, targets);
  return copied;
}

/**
 * A value in COPY's text format (PostgreSQL manual, COPY, "Text Format"): null is \N; backslash,
 * newline, carriage return and tab are escaped with a backslash; everything else stands for itself.
 */
function copyText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return COPY_SPECIAL.test(text) ? text.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : text;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function copyJson(value: unknown): string {
  return value === null || value === undefined ? '\\N' : copyText(JSON.stringify(value));
}

/** The string with each lone surrogate replaced by U+FFFD (String.prototype.toWellFormed, ES2024). */
function wellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed();
}

/**
 * Brings each listed message row to the state its edits and deletions give it: `message_fold`
 * (migration 0009, the SQL twin of message-state.ts) of all its change rows, in seq order, over the
 * message as sent. Recomputed from the change rows, not applied one by one, so it is idempotent and
 * the result is the same whichever persister wrote the message and its changes, in whatever order.
 * (The row's text may be an edit's by now; that is no matter: once a change applies, the text is
 * the last edit's, or empty.) Once deleted, the texts of its edits are emptied too, and its file
 * hidden. One statement; a listed message without change rows costs one probe of the change index.
 */
export async function applyMessageChanges(db: Kysely<Database>, targets: Array<{ room_id: number; seq: number }>): Promise<void> {
  if (targets.length === 0) return;
  await sql`
    with t(room_id, seq) as (select distinct * from unnest(${targets.map((t) => t.room_id)}::bigint[], ${targets.map((t) => t.seq)}::bigint[])),
    changed as (
      select t.room_id, t.seq from t
      where exists (select 1 from messages c where c.room_id = t.room_id and c.target_seq = t.seq and c.kind in ('edit', 'delete'))),
    folded as (
      select m.room_id, m.seq, message_fold(
          jsonb_build_object('content', m.content),
          jsonb_build_object('kind', c.kind, 'content', c.content, 'created_at', c.created_at, 'sender_id', c.sender_id, 'recalled', c.recalled)
          order by c.seq) as state
      from changed t join messages m on m.room_id = t.room_id and m.seq = t.seq and m.kind = 'message'
        join messages c on c.room_id = t.room_id and c.target_seq = t.seq and c.kind in ('edit', 'delete')
      group by m.room_id, m.seq),
    messages_now as (
      update messages m set
        content = f.state->>'content',
        edited_at = (f.state->>'edited_at')::timestamptz,
        deleted_at = (f.state->>'deleted_at')::timestamptz,
        deleted_by = f.state->>'deleted_by',
        recalled = coalesce((f.state->>'recalled')::boolean, false)
      from folded f where m.room_id = f.room_id and m.seq = f.seq
      returning m.deleted_at, m.attachment),
    edits_emptied as (
      update messages e set content = ''
      from changed t
      where e.room_id = t.room_id and e.target_seq = t.seq and e.kind = 'edit' and e.content <> ''
        and exists (select 1 from messages d where d.room_id = t.room_id and d.target_seq = t.seq and d.kind = 'delete'))
    -- A deleted message's file is hidden too (the gateway that deleted it hid it already, unless it died first).
    update files f set hidden_at = m.deleted_at
    from messages_now m
    where m.deleted_at is not null and m.attachment is not null and f.id = (m.attachment->>'id')::uuid and f.hidden_at is null`.execute(db);
}

/** Messages of a room with fromSeq <= seq <= toSeq, in seq order. */
export async function messagesInRange(db: Kysely<Database>, roomId: number, fromSeq: number, toSeq: number): Promise<MessageRow[]> {
  return db.selectFrom('messages').selectAll().where('room_id', '=', roomId).where('seq', '>=', fromSeq).where('seq', '<=', toSeq).orderBy('seq').execute();
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

/** A room whose events are all accounted for up to `known`; `deadLettered`: seqs the persisters set aside, which Postgres refused. */
export interface AccountedRoom {
  room_id: number;
  known: number;
  deadLettered: number[];
}

/**
 * For each room, the highest seq up to which its events are all accounted for: in Postgres, or
 * dead-lettered. Seqs after `known` that equal known + their rank form the contiguous run. One
 * statement for every room (a statement per room cost more to plan than to run).
 */
export async function contiguousPersistedSeqs(db: Kysely<Database>, rooms: AccountedRoom[]): Promise<Map<number, number>> {
  if (rooms.length === 0) return new Map();
  const dead = rooms.flatMap((r) => r.deadLettered.map((seq) => ({ room_id: r.room_id, seq })));
  const { rows } = await sql<{ room_id: string; upto: string }>`
    with r(room_id, known) as (select * from unnest(${rooms.map((r) => r.room_id)}::bigint[], ${rooms.map((r) => r.known)}::bigint[])),
    dead(room_id, seq) as (select * from unnest(${dead.map((d) => d.room_id)}::bigint[], ${dead.map((d) => d.seq)}::bigint[]))
    select r.room_id, coalesce(max(a.seq) filter (where a.run = r.known), r.known) as upto
    from r left join lateral (
      select seq, seq - row_number() over (order by seq) as run from (
        select m.seq from messages m where m.room_id = r.room_id and m.seq > r.known
        union select d.seq from dead d where d.room_id = r.room_id and d.seq > r.known) accounted
    ) a on true
    group by r.room_id, r.known`.execute(db);
  return new Map(rows.map((row) => [Number(row.room_id), Number(row.upto)]));
}

export async function countMessages(db: Kysely<Database>, roomId?: number): Promise<number> {
  let q = db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n'));
  if (roomId !== undefined) q = q.where('room_id', '=', roomId);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A room's seqs after `after` up to `upTo`, of which `deleted` are deleted (a deletion not yet written here, say). */
export interface UnreadRange {
  room_id: number;
  after: number;
  upTo: number;
  deleted: number[];
}

/**
 * For each range, the messages in it that count as unread for `userId`: messages (not their edits
 * or deletions, not system messages) that are not deleted, sent by someone else. One statement
 * for every range; rooms with none are absent.
 */
export async function countUnread(db: Kysely<Database>, userId: string, ranges: UnreadRange[]): Promise<Map<number, number>> {
  if (ranges.length === 0) return new Map();
  const deleted = ranges.flatMap((r) => r.deleted.map((seq) => ({ room_id: r.room_id, seq })));
  const { rows } = await sql<{ room_id: string; n: string }>`
    with r(room_id, after, up_to) as (
      select * from unnest(${ranges.map((r) => r.room_id)}::bigint[], ${ranges.map((r) => r.after)}::bigint[], ${ranges.map((r) => r.upTo)}::bigint[])),
    deleted(room_id, seq) as (select * from unnest(${deleted.map((d) => d.room_id)}::bigint[], ${deleted.map((d) => d.seq)}::bigint[]))
    select r.room_id, count(*) as n from r join messages m on m.room_id = r.room_id and m.seq > r.after and m.seq <= r.up_to
    where m.kind = 'message' and m.type <> 'system' and m.deleted_at is null and m.sender_id is distinct from ${userId}
      and not exists (select 1 from deleted d where d.room_id = m.room_id and d.seq = m.seq)
    group by r.room_id`.execute(db);
  return new Map(rows.map((row) => [Number(row.room_id), Number(row.n)]));
}
