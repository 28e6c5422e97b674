/**
 * The catalogue of error codes: one entry per code, with the HTTP status a REST call answers with
 * and the default message; a refusal to come back from says when by default (`retry_after_ms`, and
 * REST's `Retry-After`), which a refusal may override. WebSocket error frames carry the same codes. `docs/errors.md` lists every
 * code; a test fails when it does not.
 */
export const errors = {
  AUTH_TOKEN_MISSING: { status: 401, message: 'A bearer token is required' },
  AUTH_TOKEN_INVALID: { status: 401, message: 'The token is invalid' },
  AUTH_TOKEN_EXPIRED: { status: 401, message: 'The token has expired' },
  AUTH_TOKEN_REVOKED: { status: 401, message: 'The token has been revoked' },
  AUTH_SUBJECT_CHANGED: { status: 403, message: 'A refreshed token must name the same user as the connection' },
  REQUEST_INVALID: { status: 400, message: 'The request does not match its schema' },
  REQUEST_TOO_LARGE: { status: 413, message: 'The request body is over the size limit' },
  REQUEST_NOT_FOUND: { status: 404, message: 'No such route' },
  REQUEST_MEDIA_TYPE: { status: 415, message: 'The body must be application/json (multipart/form-data for uploads)' },
  REQUEST_URL_TOO_LONG: { status: 414, message: 'A part of the URL is over the length limit' },
  WS_ORIGIN_NOT_ALLOWED: { status: 403, message: 'WebSocket connections from this origin are not allowed' },
  WS_TOO_MANY_SOCKETS: { status: 429, message: 'Too many open sockets for this user on this gateway' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry later' },
  FRAME_NOT_JSON: { status: 400, message: 'A frame must be a JSON object in a text frame' },
  FRAME_BINARY: { status: 400, message: 'Binary frames are not accepted' },
  FRAME_UNKNOWN_TYPE: { status: 400, message: 'Unknown frame type' },
  FRAME_INVALID: { status: 400, message: 'The frame does not match its schema' },
  FRAME_HELLO_REQUIRED: { status: 400, message: 'The first frame must be hello' },
  FRAME_HELLO_REPEATED: { status: 400, message: 'hello was already received on this connection' },
  ADMIN_REQUIRED: { status: 403, message: 'Only a global admin may do this' },
  ROOM_NOT_FOUND: { status: 404, message: 'No such room' },
  ROOM_NOT_MEMBER: { status: 403, message: 'You are not a member of this room' },
  ROOM_NOT_ADMIN: { status: 403, message: 'Only a room admin may do this' },
  ROOM_NOT_CREATOR: { status: 403, message: "Only the room's creator or a global admin may do this" },
  ROOM_PRIVATE: { status: 403, message: 'A private room is joined only by invitation from a room admin' },
  ROOM_OFFICIAL_FORBIDDEN: { status: 403, message: 'Only a global admin may create an official room' },
  ROOM_MEMBER_NOT_FOUND: { status: 404, message: 'That user is not a member of this room' },
  ROOM_DIRECT_SELF: { status: 400, message: 'A direct room needs another user' },
  ROOM_DIRECT_MEMBERS: { status: 400, message: 'A direct room has exactly two members' },
  ROOM_NOT_DIRECT: { status: 400, message: 'Delivery is tracked in direct rooms only' },
  MESSAGE_EMPTY: { status: 400, message: 'A message needs content or a file' },
  FILE_NOT_FOUND: { status: 404, message: 'No such file in this room' },
  FILE_TOO_LARGE: { status: 413, message: 'The file is over the size limit' },
  FILE_TOO_MANY: { status: 413, message: 'Too many files or fields in one upload' },
  FILE_TYPE_NOT_ALLOWED: { status: 415, message: 'Files of this type are not accepted' },
  FILE_TYPE_MISMATCH: { status: 400, message: "The file's type does not fit the message type" },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range is outside the file' },
  UPLOAD_INVALID: { status: 400, message: 'An upload is a multipart/form-data body with at least one file' },
  UPLOAD_FIELD_TOO_LARGE: { status: 413, message: 'A form field of the upload is over the size limit' },
  MESSAGE_NOT_FOUND: { status: 404, message: 'No such message in this room' },
  MESSAGE_NOT_SENDER: { status: 403, message: 'Only the sender may do this' },
  MESSAGE_DELETED: { status: 409, message: 'The message was deleted' },
  MESSAGE_RECALL_EXPIRED: { status: 403, message: 'The recall window of this message has passed' },
  MESSAGE_NOT_FORWARDABLE: { status: 400, message: 'System messages cannot be forwarded' },
  MESSAGE_BACKLOG_FULL: { status: 503, message: 'Too many messages are waiting to be persisted; retry later', retryAfterMs: 1000 },
  SERVICE_UNAVAILABLE: { status: 503, message: 'A backing service is unavailable; retry later', retryAfterMs: 1000 },
  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string; retryAfterMs?: number }>;

export type ErrorCode = keyof typeof errors;

export const errorCodes = Object.keys(errors) as ErrorCode[];

/** An error that carries a catalogue code; REST answers it with the code's status, WS with an error frame. */
export class ParleyError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** How long the caller should wait before trying again (a rate limit's, an unavailable backend's refusal). */
  readonly retryAfterMs: number | undefined;
  constructor(code: ErrorCode, message?: string, retryAfterMs?: number) {
    super(message ?? errors[code].message);
    this.name = 'ParleyError';
    this.code = code;
    this.statusCode = errors[code].status;
    const entry = errors[code];
    this.retryAfterMs = retryAfterMs ?? ('retryAfterMs' in entry ? entry.retryAfterMs : undefined);
  }
}
