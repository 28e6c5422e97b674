/** Limits that are part of the protocol: both ends may rely on them. */
export const limits = {
  /** Longest message content, in characters (code points: an emoji is one), over REST and WebSocket alike. */
  contentMaxLength: 8000,
  /** Longest client_id (idempotency key). */
  clientIdMaxLength: 64,
  /** Longest user id (the JWT `sub`). */
  userIdMaxLength: 128,
  /** Longest token id (the JWT `jti`) a token may carry and a revocation may name. */
  jtiMaxLength: 255,
  /** Longest token a refresh_token frame may carry. */
  tokenMaxLength: 8192,
  /** Most rooms a hello frame may resume at once. */
  resumeMaxRooms: 2000,
  /** Longest stored file name, in UTF-16 code units (a longer one is cut, keeping its extension). */
  fileNameMaxLength: 255,
  /** Largest page of a room's files. */
  filesMaxLimit: 100,
  /** Largest history page. */
  historyMaxLimit: 100,
  /** History page size when none is asked for. */
  historyDefaultLimit: 50,
} as const;
