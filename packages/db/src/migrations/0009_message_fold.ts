import { sql, type Kysely } from 'kysely';

/**
 * The fold of a message's edits and deletions, in SQL: `message_apply(state, change)` is the
 * TypeScript `applyChange` (packages/protocol/src/message-state.ts), over the same JSON shapes, and
 * the aggregate `message_fold(initial, change order by seq)` folds a message's change rows over its
 * state. One fixture table tests both (packages/protocol/test/fixtures/message-changes.json); the
 * persister's applyMessageChanges uses the aggregate.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function message_apply(state jsonb, change jsonb) returns jsonb language sql immutable as $$
      select case
        when state->>'deleted_at' is not null then state
        when change->>'kind' = 'edit' then state || jsonb_build_object('content', change->'content', 'edited_at', change->'created_at')
        when change->>'kind' = 'delete' then state || jsonb_build_object(
          'content', '', 'deleted_at', change->'created_at', 'deleted_by', change->'sender_id', 'recalled', change->'recalled')
        else state
      end
    $$`.execute(db);
  // The aggregate's state starts null: its first step starts from the message's own state.
  await sql`
    create function message_fold_step(folded jsonb, initial jsonb, change jsonb) returns jsonb language sql immutable as $$
      select message_apply(coalesce(folded, initial), change)
    $$`.execute(db);
  await sql`create aggregate message_fold(jsonb, jsonb) (sfunc = message_fold_step, stype = jsonb)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop aggregate message_fold(jsonb, jsonb)`.execute(db);
  await sql`drop function message_fold_step(jsonb, jsonb, jsonb)`.execute(db);
  await sql`drop function message_apply(jsonb, jsonb)`.execute(db);
}
