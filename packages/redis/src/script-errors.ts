import { ParleyError, type ErrorCode } from '@parley/protocol';
import type { AppendStatus, ReadMarkStatus } from './scripts.js';

const appendErrors: Partial<Record<AppendStatus | ReadMarkStatus, ErrorCode>> = {
  NOT_MEMBER: 'ROOM_NOT_MEMBER',
  BACKLOG_FULL: 'MESSAGE_BACKLOG_FULL',
  TARGET_DELETED: 'MESSAGE_DELETED',
};

/** The one place where a script's refusal becomes a protocol error. */
export function appendStatusError(status: AppendStatus | ReadMarkStatus): ParleyError {
  return new ParleyError(appendErrors[status] ?? 'INTERNAL', appendErrors[status] ? undefined : `unexpected append status ${status}`);
}
