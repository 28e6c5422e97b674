/**
 * WebSocket close codes. Besides the standard ones, the range says what a client does next:
 * 4000-4499 reconnect (with backoff) and resume; 4500-4999 (none yet) mean do not reconnect before
 * fixing the cause. The standard codes listed are the ones a Parley client meets.
 */
export const closeCodes = {
  NORMAL: { code: 1000, reconnect: false, reason: 'normal closure' },
  GOING_AWAY: { code: 1001, reconnect: true, reason: 'server going away' },
  ABNORMAL: { code: 1006, reconnect: true, reason: 'connection dropped without a close frame (a node died)' },
  PROTOCOL_ERROR: { code: 1002, reconnect: true, reason: 'a frame that breaks the WebSocket protocol (a control frame over 125 bytes, say)' },
  INVALID_UTF8: { code: 1007, reconnect: true, reason: 'a text frame that is not UTF-8' },
  POLICY_VIOLATION: { code: 1008, reconnect: true, reason: 'a message in too many fragments' },
  MESSAGE_TOO_BIG: { code: 1009, reconnect: true, reason: 'frame over the size limit' },
  INTERNAL: { code: 1011, reconnect: true, reason: 'internal error' },
  SERVICE_RESTART: { code: 1012, reconnect: true, reason: 'the gateway is restarting: reconnect (to another) and resume' },
  TRY_AGAIN_LATER: { code: 1013, reconnect: true, reason: 'hello failed for want of Redis or Postgres: reconnect later' },
  SLOW_CONSUMER: { code: 4100, reconnect: true, reason: 'send buffer over its cap' },
  HELLO_TIMEOUT: { code: 4101, reconnect: true, reason: 'no hello frame in time' },
  TOKEN_EXPIRED: { code: 4102, reconnect: true, reason: 'the token expired: reconnect with a fresh one' },
  TOKEN_REVOKED: { code: 4103, reconnect: true, reason: 'the token was revoked: reconnect with another one' },
} as const;

export type CloseCodeName = keyof typeof closeCodes;
