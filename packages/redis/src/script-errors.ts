import { ParleyError, type ErrorCode } from '@parley/protocol';
import type { AppendStatus } from './scripts.js';

const appendErrors: Partial<Record<AppendStatus, ErrorCode>> = {
  NOT_MEMBER: 'ROOM_NOT_MEMBER',
  BACKLOG_FULL: 'MESSAGE_BACKLOG_FULL',
  TARGET_DELETED: 'MESSAGE_DELETED',
};

/** The one place where a script's refusal becomes a protocol error. */
export function appendStatusError(status: AppendStatus): ParleyError {
  return new ParleyError(appendErrors[status] ?? 'INTERNAL', appendErrors[status] ? undefined : `unexpected append status ${status}`);
}
