import { ParleyError } from '@parley/protocol';

/**
 * The refusal of a send not answered within SEND_TIMEOUT_MS (a frame from its arrival; a REST call,
 * from its arrival too: plugins/send-deadline.ts): retryable after the catalogue's
 * `retry_after_ms`, and safe to resend with its client_id. The work goes on; if it stores the
 * message after all, the resend is answered with it (DUPLICATE).
 */
export function sendTimedOut(): ParleyError {
  return new ParleyError('SERVICE_UNAVAILABLE', 'The message was not stored within SEND_TIMEOUT_MS; resend it with the same client_id');
}
