import { randomUUID } from 'node:crypto';
import type { GatewayCore } from '../core.js';
import type { Static } from '@sinclair/typebox';
import {
  encodeMessageEventBody,
  ParleyError,
  type Attachment,
  type ClientFrameOf,
  type ForwardedFrom,
  type MessageType,
  type MembershipSystemInfo,
  type SendMessageResult,
  type SystemInfo,
  systemText,
} from '@parley/protocol';
import { waitForReplicas, type AppendInput, type AppendMode } from '@parley/redis';
import { visibleFile } from '@parley/db';
import { attachmentOf } from '../files/file-info.js';
import { withFilledCaches } from '../rooms/cache-fills.js';

export interface NewMessage {
  roomId: number;
  /** Null only for a system message the service posts. */
  senderId: string | null;
  clientId: string;
  messageType: MessageType;
  content: string;
  system?: SystemInfo;
  forwardedFrom?: ForwardedFrom;
  attachment?: Attachment;
}

/** The file types each message type may carry. */
const ATTACHABLE: Partial<Record<MessageType, (mime: string) => boolean>> = {
  image: (mime) => mime.startsWith('image/'),
  audio: (mime) => mime.startsWith('audio/'),
  video: (mime) => mime.startsWith('video/'),
  file: () => true,
};

/**
 * A member's message, from the socket or REST: its file (uploaded to the same room, of a type the
 * message type fits) is resolved into the attachment, then the one write path.
 */
export async function sendUserMessage(core: GatewayCore, senderId: string, roomId: number, input: Omit<ClientFrameOf<'send_message'>, 'type' | 'chat_id'>) {
  let attachment: Attachment | undefined;
  if (input.file_id) {
    const file = await visibleFile(core.db, input.file_id);
    if (!file || file.room_id !== roomId) throw new ParleyError('FILE_NOT_FOUND');
    if (!ATTACHABLE[input.message_type]?.(file.mime_type))
      throw new ParleyError('FILE_TYPE_MISMATCH', `A ${input.message_type} message cannot carry a file of type ${file.mime_type}`);
    attachment = attachmentOf(file);
  } else if (input.content.length === 0) {
    throw new ParleyError('MESSAGE_EMPTY');
  }
  return appendMessage(core, { roomId, senderId, clientId: input.client_id, messageType: input.message_type, content: input.content, attachment });
}

/**
 * The one write path of a message, for the socket, REST and system messages alike: a single script
 * call checks membership (mode `member`) and the client_id, assigns the seq, appends to the room log
 * and the event stream, and publishes. Resolving means the message is in the stream: the answer is
 * the ack.
 */
export async function appendMessage(core: GatewayCore, msg: NewMessage, mode: AppendMode = 'member'): Promise<Static<typeof SendMessageResult>> {
  const id = randomUUID();
  const createdAt = new Date().toISOString();
  const eventJson = encodeMessageEventBody({
    chat_id: msg.roomId,
    id,
    sender_id: msg.senderId,
    client_id: msg.clientId,
    message_type: msg.messageType,
    content: msg.content,
    created_at: createdAt,
    system: msg.system,
    forwarded_from: msg.forwardedFrom,
    attachment: msg.attachment,
  });
  return appendEvent(core, { roomId: msg.roomId, senderId: msg.senderId, mode, clientId: msg.clientId, id, createdAt, eventJson });
}

/** Appends any room event (a message, an edit, a deletion) through the script; resolves with the ack. */
export async function appendEvent(
  core: GatewayCore,
  event: Omit<AppendInput, 'idempotencyTtlSeconds' | 'maxBacklog'>,
): Promise<Static<typeof SendMessageResult>> {
  const input: AppendInput = { ...event, idempotencyTtlSeconds: core.config.idempotencyTtlSeconds, maxBacklog: core.config.streamMaxBacklog };
  const stopTimer = core.metrics.appendSeconds.startTimer();
  try {
    return await appendWithFills(core, input);
  } finally {
    stopTimer();
  }
}

async function appendWithFills(core: GatewayCore, input: AppendInput): Promise<Static<typeof SendMessageResult>> {
  const result = await withFilledCaches(core, { roomId: input.roomId }, ['OK', 'DUPLICATE'], () => core.scripts.roomAppend(input));
  // An ack that is to survive a failover waits for the replicas (a duplicate too: its original may
  // have been acked by nobody). WAIT covers this connection's writes, later ones included.
  const { replicas, timeoutMs } = core.config.redisWait;
  if (replicas > 0) {
    const { reached, wanted } = await waitForReplicas(core.redis, core.keys.roomMeta(input.roomId), replicas, timeoutMs);
    if (reached < wanted) {
      core.metrics.replicaWaitTimeouts.inc();
      throw new ParleyError('SERVICE_UNAVAILABLE', `the message is on ${reached} of ${wanted} replica(s); resend it with the same client_id`);
    }
  }
  return {
    client_id: input.clientId,
    chat_id: input.roomId,
    id: result.id,
    seq: result.seq,
    created_at: result.createdAt,
    duplicate: result.status === 'DUPLICATE',
  };
}

/**
 * Appends the system message of a membership change already committed to Postgres. The cached
 * members are dropped in the same script step, so the change takes effect at this message's seq:
 * a removed member can send nothing after it and receives nothing after it.
 */
export function appendMembershipEvent(core: GatewayCore, roomId: number, system: MembershipSystemInfo, actorId: string | null) {
  return appendMessage(
    core,
    {
      roomId,
      senderId: actorId,
      clientId: `system-${randomUUID()}`,
      messageType: 'system',
      content: systemText(system),
      system,
    },
    'bump',
  );
}
