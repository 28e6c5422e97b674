import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { GatewayCore } from '../core.js';
import type { MultipartFile } from '@fastify/multipart';
import { insertFile, type FileRow } from '@parley/db';
import { formatBytes, isWellFormedText, MALFORMED_TEXT, ParleyError, type ErrorCode } from '@parley/protocol';
import { sanitiseFileName } from './file-name.js';
import { isAllowed, sniffType, SNIFF_BYTES } from './sniff.js';
import type { FileStorage } from './storage.js';

/** @fastify/multipart's errors, as the catalogue's codes. */
const MULTIPART_ERRORS: Record<string, ErrorCode> = {
  FST_REQ_FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  FST_FILES_LIMIT: 'FILE_TOO_MANY',
  FST_FIELDS_LIMIT: 'FILE_TOO_MANY',
  FST_PARTS_LIMIT: 'FILE_TOO_MANY',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UPLOAD_INVALID',
  FST_PROTO_VIOLATION: 'UPLOAD_INVALID',
};

/** @fastify/busboy's errors for a body that is not multipart/form-data (no boundary, an empty or over-long one, a cut-off body); they carry no code. */
const BUSBOY_MALFORMED =
  /^(Multipart: Boundary not found|Boundary required|Unexpected end of multipart data|(Part|Preamble) terminated early|The needle cannot)/;

/** A refusal for one of the upload limits says the limit, so that a client can tell its user. */
function limitError(code: ErrorCode, uploads: { maxBytes: number; maxFiles: number }, original?: ParleyError): ParleyError {
  if (code === 'FILE_TOO_LARGE') return new ParleyError(code, `A file is at most ${uploads.maxBytes} bytes (${formatBytes(uploads.maxBytes)})`);
  if (code === 'FILE_TOO_MANY') return new ParleyError(code, `At most ${uploads.maxFiles} files in one upload`);
  return original ?? new ParleyError(code);
}

/**
 * Receives every file of a multipart request into the room, streamed: each is sniffed from its
 * first bytes, hashed and counted on its way to the storage, and recorded in Postgres once stored
 * whole. All or nothing: when one file fails (too large, a refused type, the client gone), the
 * files already stored by this request are removed with their rows.
 */
export async function receiveUploads(core: GatewayCore, storage: FileStorage, request: FastifyRequest, roomId: number): Promise<FileRow[]> {
  const stored: FileRow[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') stored.push(await storeFile(core, storage, part, roomId, request.caller.id));
      // Busboy cuts a field at UPLOAD_MAX_FIELD_BYTES and only marks it: refuse it rather than take half.
      else if (part.valueTruncated || part.fieldnameTruncated)
        throw new ParleyError('UPLOAD_FIELD_TOO_LARGE', `A form field is at most ${core.config.uploads.maxFieldBytes} bytes`);
      else if (!isWellFormedText(part.fieldname) || !isWellFormedText(part.value)) throw new ParleyError('UPLOAD_INVALID', MALFORMED_TEXT);
    }
  } catch (err) {
    await Promise.all(stored.map((row) => storage.delete(row.storage_key)));
    if (stored.length > 0)
      await core.db
        .deleteFrom('files')
        .where(
          'id',
          'in',
          stored.map((r) => r.id),
        )
        .execute();
    const code = MULTIPART_ERRORS[(err as { code?: string }).code ?? ''] ?? (BUSBOY_MALFORMED.test((err as Error).message) ? 'UPLOAD_INVALID' : undefined);
    throw code ? limitError(code, core.config.uploads) : err instanceof ParleyError ? limitError(err.code, core.config.uploads, err) : err;
  }
  if (stored.length === 0) throw new ParleyError('UPLOAD_INVALID');
  return stored;
}

async function storeFile(core: GatewayCore, storage: FileStorage, part: MultipartFile, roomId: number, uploaderId: string): Promise<FileRow> {
  if (!isWellFormedText(part.filename)) {
    part.file.destroy();
    throw new ParleyError('UPLOAD_INVALID', `The file name: ${MALFORMED_TEXT}`);
  }
  const chunks = part.file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < SNIFF_BYTES) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  const first = Buffer.concat(head);
  const mime = await sniffType(first);
  if (!isAllowed(mime, core.config.uploads.allowedTypes)) {
    part.file.destroy();
    throw new ParleyError('FILE_TYPE_NOT_ALLOWED', `Files of type ${mime} are not accepted`);
  }

  const hash = createHash('sha256');
  let size = 0;
  const counted = (b: Buffer) => {
    hash.update(b);
    size += b.length;
    return b;
  };
  async function* body() {
    yield counted(first);
    if (ended) return;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield counted(next.value);
  }
  const key = randomUUID();
  await storage.put(key, Readable.from(body()));
  try {
    // Past the limit busboy ends the part early and marks it truncated.
    if (part.file.truncated) throw limitError('FILE_TOO_LARGE', core.config.uploads);
    return await insertFile(core.db, {
      id: randomUUID(),
      room_id: roomId,
      uploader_id: uploaderId,
      name: sanitiseFileName(part.filename),
      size,
      mime_type: mime,
      sha256: hash.digest('hex'),
      storage_key: key,
    });
  } catch (err) {
    await storage.delete(key);
    throw err;
  }
}
