import { randomUUID } from 'node:crypto';
import type { GatewayCore } from '../core.js';
import { encodeChangeEventBody, isMessageEvent, messageOfEvent, ParleyError, type Message, type MessageChange } from '@parley/protocol';
import { hideFiles, memberRole } from '@parley/db';
import type { Caller } from '../plugins/auth.js';
import { appendEvent } from './append-message.js';

/** The message at `seq` in its current state, for a member of the room. */
export async function targetMessage(core: GatewayCore, roomId: number, seq: number, caller: Caller): Promise<Message> {
  if (!(await core.membership.isMember(roomId, caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
  const [event] = await core.roomEvents.range(roomId, seq, seq);
  if (!event || !isMessageEvent(event.event)) throw new ParleyError('MESSAGE_NOT_FOUND');
  return messageOfEvent(event.event);
}

/**
 * Edits, deletions and recalls are events of the room with seqs of their own, appended by the same
 * script as messages (membership, idempotency, order, durability); the script also records the
 * change for history to fold over the message (message-state.ts), and refuses any change to a
 * message already deleted.
 */
export async function editMessage(core: GatewayCore, caller: Caller, roomId: number, seq: number, clientId: string, content: string) {
  const target = await targetMessage(core, roomId, seq, caller);
  if (target.sender_id !== caller.id || target.message_type === 'system') throw new ParleyError('MESSAGE_NOT_SENDER');
  if (target.deleted_at) throw new ParleyError('MESSAGE_DELETED');
  return appendChange(core, caller, roomId, seq, clientId, { kind: 'edit', content });
}

/** Deletes (the sender or a room admin) or recalls (the sender, within the recall window) a message. */
export async function deleteMessage(core: GatewayCore, caller: Caller, roomId: number, seq: number, recall: boolean) {
  const target = await targetMessage(core, roomId, seq, caller);
  const own = target.sender_id === caller.id;
  if (recall) {
    if (!own) throw new ParleyError('MESSAGE_NOT_SENDER');
    if (Date.now() - Date.parse(target.created_at) > core.config.recallWindowSeconds * 1000) throw new ParleyError('MESSAGE_RECALL_EXPIRED');
  } else if (!own && !caller.isAdmin && (await memberRole(core.db, roomId, caller.id)) !== 'admin') {
    throw new ParleyError('MESSAGE_NOT_SENDER');
  }
  // One deletion per user and message: a retry is answered with the first (duplicate: true). A
  // deletion of a message already deleted is refused by the script (MESSAGE_DELETED), after it has
  // answered a retry.
  const ack = await appendChange(core, caller, roomId, seq, `${recall ? 'recall' : 'delete'}-${seq}`, { kind: 'delete', recalled: recall });
  // Its file goes with it, at once (the persister hides it too, should this gateway die first).
  if (target.attachment) await hideFiles(core.db, [target.attachment.id]);
  return ack;
}

type ChangeOwnFields = { kind: 'edit'; content: string } | { kind: 'delete'; recalled: boolean };

/** Appends an edit or deletion of message `seq` by the caller: its event, and the change for the fold. */
function appendChange(core: GatewayCore, caller: Caller, roomId: number, seq: number, clientId: string, own: ChangeOwnFields) {
  const id = randomUUID();
  const createdAt = new Date().toISOString();
  const common = { chat_id: roomId, id, sender_id: caller.id, client_id: clientId, message_seq: seq, created_at: createdAt };
  const [eventJson, change]: [string, MessageChange] =
    own.kind === 'edit'
      ? [encodeChangeEventBody({ type: 'message_edited', ...common, content: own.content }), { kind: 'edit', content: own.content, created_at: createdAt }]
      : [
          encodeChangeEventBody({ type: 'message_deleted', ...common, recalled: own.recalled }),
          { kind: 'delete', created_at: createdAt, sender_id: caller.id, recalled: own.recalled },
        ];
  return appendEvent(core, {
    roomId,
    senderId: caller.id,
    mode: 'member',
    clientId,
    id,
    createdAt,
    eventJson,
    change: { messageSeq: seq, kind: change.kind, json: JSON.stringify(change) },
  });
}
