/**
 * WebSocket close codes. Besides the standard ones, the range says what a client does next:
 * 4000-4499 reconnect (with backoff) and resume; 4500-4999 do not reconnect before fixing the cause
 * (for example, get a fresh token).
 */
export const closeCodes = {
  NORMAL: { code: 1000, reconnect: false, reason: 'normal closure' },
  GOING_AWAY: { code: 1001, reconnect: true, reason: 'server going away' },
  MESSAGE_TOO_BIG: { code: 1009, reconnect: true, reason: 'frame over the size limit' },
  INTERNAL: { code: 1011, reconnect: true, reason: 'internal error' },
  SERVICE_RESTART: { code: 1012, reconnect: true, reason: 'server restarting, reconnect elsewhere' },
  SLOW_CONSUMER: { code: 4100, reconnect: true, reason: 'send buffer over its cap' },
  HELLO_TIMEOUT: { code: 4101, reconnect: true, reason: 'no hello frame in time' },
  PROTOCOL_VIOLATION: { code: 4500, reconnect: false, reason: 'protocol violation' },
} as const;

export type CloseCodeName = keyof typeof closeCodes;

/** Whether a client should reconnect after a close with this code. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code < 4500) return true;
  if (code >= 4500 && code < 5000) return false;
  return Object.values(closeCodes).some((c) => c.code === code && c.reconnect) || code === 1006;
}
