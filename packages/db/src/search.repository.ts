import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, MessageRow } from './database.js';

/**
 * Message search: exact substrings, case-insensitive, in any script (Chinese has no word
 * boundaries: `药师` must find `请问药师在吗`), from one character up.
 *
 * The index is `search_blocks` (migration 0010): one row per run of consecutive seqs of a room, with
 * the union of its messages' and edits' terms, the characters and character pairs of their text as
 * Postgres lowercases it. The persister writes blocks behind the messages it persists (indexSearch),
 * so a message costs no index work when it is written, and a GIN entry serves a whole block. A
 * keyword matches a block that holds all its pairs (its character, when it is one); the block's
 * messages are then checked with `strpos`. Messages past a room's last block are checked directly,
 * so a message is found as soon as it is persisted, however far the indexer lags: the lag costs a
 * search time, never a result.
 */

/** The distinct terms of these texts: every character, and every pair of adjacent characters of each. */
export function searchTerms(texts: Iterable<string>): string[] {
  const terms = new Set<string>();
  for (const text of texts) {
    let previous = '';
    for (const char of text) {
      terms.add(char);
      if (previous) terms.add(previous + char);
      previous = char;
    }
  }
  return [...terms];
}

/** For each room, the last seq its search blocks cover (0: none yet). */
export async function searchIndexedSeqs(db: Kysely<Database>, roomIds: number[]): Promise<Map<number, number>> {
  if (roomIds.length === 0) return new Map();
  const { rows } = await sql<{ room_id: string; indexed: string }>`
    select r.room_id, coalesce((select max(b.last_seq) from search_blocks b where b.room_id = r.room_id), 0) as indexed
    from unnest(${roomIds}::bigint[]) as r(room_id)`.execute(db);
  return new Map(rows.map((r) => [Number(r.room_id), Number(r.indexed)]));
}

/** A room's seqs after `after`, up to and including `upTo`, all of them in Postgres (or never to be). */
export interface SearchRange {
  room_id: number;
  after: number;
  upTo: number;
}

/**
 * Indexes each range as blocks of at most `blockSeqs` consecutive seqs: reads the texts of its
 * messages and edits (system messages and deletions have none to search), lowercased by Postgres as
 * the search's keyword is, and writes one row per block. A range must hold every seq it covers that
 * will ever be in Postgres: a seq written later inside a block would never be searched.
 */
export async function indexSearch(db: Kysely<Database>, ranges: SearchRange[], blockSeqs: number): Promise<number> {
  if (ranges.length === 0) return 0;
  const { rows } = await sql<{ room_id: string; seq: string; text: string }>`
    select m.room_id, m.seq, lower(m.content) as text
    from unnest(${ranges.map((r) => r.room_id)}::bigint[], ${ranges.map((r) => r.after)}::bigint[], ${ranges.map((r) => r.upTo)}::bigint[]) as r(room_id, after, up_to)
      join messages m on m.room_id = r.room_id and m.seq > r.after and m.seq <= r.up_to
    where m.kind in ('message', 'edit') and m.type <> 'system' and m.content <> ''`.execute(db);
  const texts = new Map<string, string[]>();
  const blockOf = (room: number, seq: number, after: number) => `${room}:${Math.floor((seq - after - 1) / blockSeqs)}`;
  const afterOf = new Map(ranges.map((r) => [r.room_id, r.after]));
  for (const row of rows) {
    const room = Number(row.room_id);
    const key = blockOf(room, Number(row.seq), afterOf.get(room)!);
    const list = texts.get(key);
    if (list) list.push(row.text);
    else texts.set(key, [row.text]);
  }
  const blocks: Array<{ room_id: number; first: number; last: number; terms: string[] }> = [];
  for (const { room_id, after, upTo } of ranges) {
    for (let first = after + 1; first <= upTo; first += blockSeqs) {
      const last = Math.min(upTo, first + blockSeqs - 1);
      blocks.push({ room_id, first, last, terms: searchTerms(texts.get(blockOf(room_id, first, after)) ?? []) });
    }
  }
  if (blocks.length === 0) return 0;
  // The terms travel as one flat array beside the number of the block each belongs to.
  const termBlocks = blocks.flatMap((b, n) => b.terms.map(() => n));
  await sql`
    insert into search_blocks (room_id, first_seq, last_seq, terms)
    select b.room_id, b.first_seq, b.last_seq, coalesce(t.terms, '{}')
    from unnest(${blocks.map((b) => b.room_id)}::bigint[], ${blocks.map((b) => b.first)}::bigint[], ${blocks.map((b) => b.last)}::bigint[]) with ordinality
        as b(room_id, first_seq, last_seq, n)
      left join (select n + 1 as n, array_agg(term) as terms from unnest(${termBlocks}::bigint[], ${blocks.flatMap((b) => b.terms)}::text[]) as t(n, term) group by n) t
        on t.n = b.n
    on conflict do nothing`.execute(db);
  return blocks.length;
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
 * newest first: those of the blocks whose terms hold the keyword's, and those past each room's last
 * block, kept when their current text holds it. An edit found stands for the message it edited.
 */
export function searchMessagesQuery(s: MessageSearch): RawBuilder<MessageRow> {
  const inRoom = s.roomId === undefined ? sql`` : sql`and room_id = ${s.roomId}`;
  const holds = (column: string) => sql`strpos(lower(${sql.ref(column)}), lower(${s.keyword})) > 0`;
  return sql<MessageRow>`
    with mine as (select room_id from room_members where user_id = ${s.userId} ${inRoom}),
    found as (
      select t.room_id, t.seq
      from search_blocks b
        join mine on mine.room_id = b.room_id
        -- OFFSET 0 keeps this subquery a lateral one, so each block reads only its own seqs by primary
        -- key, whatever Postgres estimates of how many blocks match.
        cross join lateral (
          select m.room_id, coalesce(m.target_seq, m.seq) as seq from messages m
          where m.room_id = b.room_id and m.seq between b.first_seq and b.last_seq and m.kind in ('message', 'edit') and ${holds('m.content')}
          offset 0) t
      where b.terms @> message_search_query(${s.keyword})
      union
      select t.room_id, t.seq
      from mine cross join lateral (
        select m.room_id, coalesce(m.target_seq, m.seq) as seq from messages m
        where m.room_id = mine.room_id and m.kind in ('message', 'edit') and ${holds('m.content')}
          and m.seq > (select coalesce(max(b.last_seq), 0) from search_blocks b where b.room_id = mine.room_id)
        offset 0) t)
    select m.* from found f
      cross join lateral (select * from messages m where m.room_id = f.room_id and m.seq = f.seq offset 0) m
    where m.kind = 'message' and m.deleted_at is null and m.type <> 'system' and ${holds('m.content')}
    order by m.created_at desc, m.room_id, m.seq desc
    limit ${s.limit} offset ${s.skip}`;
}

export async function searchMessages(db: Kysely<Database>, s: MessageSearch): Promise<MessageRow[]> {
  return (await searchMessagesQuery(s).execute(db)).rows;
}
