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

/**
 * The distinct terms of these texts: every character (code point, as Postgres counts them), and
 * every pair of adjacent characters of each. This runs over every message indexed, so the common
 * terms are set as bits rather than strings in a Set (a quarter of the cost): characters of the BMP,
 * and pairs of characters below U+0100; the rest are numbers in Sets, made strings once each.
 */
export function searchTerms(texts: Iterable<string>): string[] {
  const bmp = new Int32Array(0x10000 / 32);
  const narrowPairs = new Int32Array(0x10000 / 32);
  const astral = new Set<number>();
  const widePairs = new Set<number>();
  for (const text of texts) {
    let previous = -1;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low < 0xe000) {
          c = ((c - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          i++;
        }
      }
      if (c < 0x10000) bmp[c >>> 5]! |= 1 << (c & 31);
      else astral.add(c);
      if (previous >= 0) {
        if ((previous | c) < 0x100) {
          const pair = (previous << 8) | c;
          narrowPairs[pair >>> 5]! |= 1 << (pair & 31);
        } else widePairs.add(previous * 0x110000 + c);
      }
      previous = c;
    }
  }
  const terms: string[] = [];
  const eachBit = (bits: Int32Array, term: (n: number) => string) => {
    for (let word = 0; word < bits.length; word++) {
      for (let w = bits[word]!; w !== 0; w &= w - 1) terms.push(term((word << 5) | (31 - Math.clz32(w & -w))));
    }
  };
  eachBit(bmp, (c) => String.fromCharCode(c));
  for (const c of astral) terms.push(String.fromCodePoint(c));
  eachBit(narrowPairs, (pair) => String.fromCharCode(pair >>> 8, pair & 0xff));
  for (const pair of widePairs) terms.push(String.fromCodePoint(Math.floor(pair / 0x110000), pair % 0x110000));
  return terms;
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
  // Each block's texts joined into one by Postgres: a row per block, not per message, to read. The
  // pairs across a join are terms no message has; an extra term can make a block match in vain
  // (its messages are checked), never miss.
  const { rows } = await sql<{ room_id: string; n: number; text: string }>`
    select r.room_id, ((m.seq - r.after - 1) / ${blockSeqs})::int as n, string_agg(lower(m.content), E'\n') as text
    from unnest(${ranges.map((r) => r.room_id)}::bigint[], ${ranges.map((r) => r.after)}::bigint[], ${ranges.map((r) => r.upTo)}::bigint[]) as r(room_id, after, up_to)
      join messages m on m.room_id = r.room_id and m.seq > r.after and m.seq <= r.up_to
    where m.kind in ('message', 'edit') and m.type <> 'system' and m.content <> ''
    group by 1, 2`.execute(db);
  const texts = new Map(rows.map((row) => [`${row.room_id}:${row.n}`, row.text]));
  const blocks: Array<{ room_id: number; first: number; last: number; terms: string[] }> = [];
  for (const { room_id, after, upTo } of ranges) {
    for (let first = after + 1; first <= upTo; first += blockSeqs) {
      const last = Math.min(upTo, first + blockSeqs - 1);
      const text = texts.get(`${room_id}:${(first - after - 1) / blockSeqs}`);
      blocks.push({ room_id, first, last, terms: text === undefined ? [] : searchTerms([text]) });
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
