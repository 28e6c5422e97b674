import { createHash } from 'node:crypto';
import type { GatewayCore } from '../core.js';
import { copyFile, visibleFile } from '@parley/db';
import { ParleyError, type Attachment } from '@parley/protocol';
import { attachmentOf } from '../files/file-info.js';
import type { Caller } from '../plugins/auth.js';
import { appendMessage } from './append-message.js';
import { targetMessage } from './change-message.js';

/**
 * Forwards message `seq` of room `fromRoomId` into room `toRoomId`: a new message of the caller's,
 * with the original's type and current text, appended like any other (membership of the target
 * room, idempotency by `clientId` there). The copy points at the original message; forwarding a
 * forward points at the first original, so a chain of forwards still names its source.
 */
export async function forwardMessage(core: GatewayCore, caller: Caller, fromRoomId: number, seq: number, toRoomId: number, clientId: string) {
  const source = await targetMessage(core, fromRoomId, seq, caller);
  if (source.message_type === 'system') throw new ParleyError('MESSAGE_NOT_FORWARDABLE');
  if (source.deleted_at) throw new ParleyError('MESSAGE_DELETED');
  return appendMessage(core, {
    attachment: source.attachment && (await forwardFile(core, caller, source.attachment, toRoomId, clientId)),
    roomId: toRoomId,
    senderId: caller.id,
    clientId,
    messageType: source.message_type,
    content: source.content,
    forwardedFrom: source.forwarded_from ?? { chat_id: source.chat_id, seq: source.seq, id: source.id, sender_id: source.sender_id },
  });
}

/**
 * The forwarded copy's file: a record of the same bytes in the target room, so that its members
 * may download it and deleting either message hides only its own. Its id follows from the forward
 * (file, room, user, client_id), so a retried forward makes no second record.
 */
async function forwardFile(core: GatewayCore, caller: Caller, attachment: Attachment, toRoomId: number, clientId: string): Promise<Attachment> {
  if (!(await core.membership.isMember(toRoomId, caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
  const file = await visibleFile(core.db, attachment.id);
  if (!file) throw new ParleyError('FILE_NOT_FOUND');
  const hex = createHash('sha256').update(`${file.id}\u0000${toRoomId}\u0000${caller.id}\u0000${clientId}`).digest('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return attachmentOf(await copyFile(core.db, file, id, toRoomId, caller.id));
}
