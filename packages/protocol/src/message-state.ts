import type { Message } from './common.js';

/**
 * A message's state after its edits and deletions: the one definition of what a change does.
 * `applyChange` here and the SQL function `message_apply` (migration 0009) are the same fold, and
 * one fixture table (packages/protocol/test/fixtures/message-changes.json) tests both. The gateway
 * folds the changes still in Redis over a message from the log or from Postgres; the persister folds
 * a message's change rows over its row.
 */
export type MessageState = Pick<Message, 'content' | 'edited_at' | 'deleted_at' | 'deleted_by' | 'recalled'>;

/** An edit or a deletion (or recall) of a message, as the fold needs it. */
export type MessageChange =
  { kind: 'edit'; content: string; created_at: string } | { kind: 'delete'; created_at: string; sender_id: string; recalled: boolean };

/**
 * The state `change` gives a message in state `state`. An edit sets the text and the time of the
 * edit; a deletion empties the text and records who deleted it, when, and whether it was a recall.
 * Nothing changes a deleted message. So folding a message's changes, in seq order, over a state that
 * already holds the first of them gives what folding them over the message as sent gives: Postgres'
 * row holds the changes persisted so far, and the gateway folds what Redis has over it.
 */
export function applyChange<S extends MessageState>(state: S, change: MessageChange): S {
  if (state.deleted_at) return state;
  if (change.kind === 'edit') return { ...state, content: change.content, edited_at: change.created_at };
  return { ...state, content: '', deleted_at: change.created_at, deleted_by: change.sender_id, recalled: change.recalled };
}

/** `state` with `changes` applied in order (the order of their seqs). */
export function foldChanges<S extends MessageState>(state: S, changes: Iterable<MessageChange>): S {
  let folded = state;
  for (const change of changes) folded = applyChange(folded, change);
  return folded;
}
