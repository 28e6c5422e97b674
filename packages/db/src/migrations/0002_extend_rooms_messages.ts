import { sql, type Kysely } from 'kysely';

/**
 * Rooms: soft deletion, a maintained member count, and the time of the last message (the
 * conversation list's order). Messages: every room event is a row (`kind`): messages, and the
 * edits and deletions that target one by `target_seq`; a message row carries its current state
 * (edited_at, deleted_at). System messages may have no sender (posted by the customer's backend).
 * Search: a GIN index over each message's characters and character pairs, which finds substrings
 * in text without word boundaries (Chinese) as well as in any other, from one character up.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('rooms')
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('member_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_message_at', 'timestamptz')
    .execute();
  await sql`update rooms r set member_count = (select count(*) from room_members m where m.room_id = r.id)`.execute(db);
  await db.schema.createIndex('rooms_public').on('rooms').columns(['id']).where(sql.ref('is_public'), '=', true).execute();

  await db.schema
    .alterTable('messages')
    .alterColumn('sender_id', (c) => c.dropNotNull())
    .addColumn('kind', 'text', (c) =>
      c
        .notNull()
        .defaultTo('message')
        .check(sql`kind in ('message', 'edit', 'delete')`),
    )
    .addColumn('target_seq', 'bigint')
    .addColumn('system', 'jsonb')
    .addColumn('attachment', 'jsonb')
    .addColumn('forwarded_from', 'jsonb')
    .addColumn('edited_at', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('deleted_by', 'text')
    .addColumn('recalled', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema
    .alterTable('messages')
    .addCheckConstraint('messages_target', sql`(kind = 'message') = (target_seq is null)`)
    .execute();
  // Edits and deletions by the message they change, for the persister's recompute of its state.
  await db.schema.createIndex('messages_changes').on('messages').columns(['room_id', 'target_seq', 'seq']).where(sql.ref('kind'), '<>', 'message').execute();
  await db.schema
    .alterTable('messages')
    .addCheckConstraint('messages_sender', sql`sender_id is not null or type = 'system'`)
    .execute();

  await sql`
    create function message_search_terms(content text) returns text[]
    language sql immutable strict parallel safe as $$
      select coalesce(array_agg(distinct term), '{}') from (
        select substr(lower(content), i, 1) as term from generate_series(1, char_length(content)) as i
        union all
        select substr(lower(content), i, 2) from generate_series(1, char_length(content) - 1) as i
      ) terms
    $$`.execute(db);
  // What a keyword must match: its character pairs, or the character itself when it is one.
  await sql`
    create function message_search_query(keyword text) returns text[]
    language sql immutable strict parallel safe as $$
      select case when char_length(keyword) < 2 then array[lower(keyword)]
        else array(select distinct substr(lower(keyword), i, 2) from generate_series(1, char_length(keyword) - 1) as i) end
    $$`.execute(db);
  await sql`
    create index messages_search on messages using gin (message_search_terms(content))
    where kind = 'message' and deleted_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index messages_search`.execute(db);
  await sql`drop index messages_changes`.execute(db);
  await sql`drop function message_search_query(text)`.execute(db);
  await sql`drop function message_search_terms(text)`.execute(db);
  await db.schema.alterTable('messages').dropConstraint('messages_sender').execute();
  await db.schema.alterTable('messages').dropConstraint('messages_target').execute();
  await db.schema
    .alterTable('messages')
    .dropColumn('kind')
    .dropColumn('target_seq')
    .dropColumn('system')
    .dropColumn('attachment')
    .dropColumn('forwarded_from')
    .dropColumn('edited_at')
    .dropColumn('deleted_at')
    .dropColumn('deleted_by')
    .dropColumn('recalled')
    .execute();
  await sql`delete from messages where sender_id is null`.execute(db);
  await db.schema
    .alterTable('messages')
    .alterColumn('sender_id', (c) => c.setNotNull())
    .execute();
  await db.schema.dropIndex('rooms_public').execute();
  await db.schema.alterTable('rooms').dropColumn('deleted_at').dropColumn('member_count').dropColumn('last_message_at').execute();
}
