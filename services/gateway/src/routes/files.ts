import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fastifyMultipart from '@fastify/multipart';
import { create as contentDisposition } from 'content-disposition';
import rangeParser from 'range-parser';
import { roomFiles, visibleFile } from '@parley/db';
import { ChatParams, ErrorBody, FileParams, FilesPage, FilesQuery, ParleyError, UploadResult } from '@parley/protocol';
import { fileInfoOf } from '../files/file-info.js';
import { isInlineSafe } from '../files/sniff.js';
import { LocalDiskStorage } from '../files/storage.js';
import { receiveUploads } from '../files/upload.js';

/**
 * Files (seed 004's shape): POST /api/chats/{id}/files uploads (multipart, streamed), GET lists a
 * room's files newest first, GET /api/files/{id}/download serves one to members, with ranges.
 */
const files: FastifyPluginAsyncTypebox = async (app) => {
  const { uploads } = app.config;
  const storage = await LocalDiskStorage.open(uploads.dir);
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: uploads.maxBytes,
      files: uploads.maxFiles,
      fields: uploads.maxFields,
      fieldSize: uploads.maxFieldBytes,
      parts: uploads.maxFiles + uploads.maxFields,
      headerPairs: 100,
    },
  });
  app.addHook('preValidation', app.authenticate);

  app.post(
    '/api/chats/:id/files',
    { schema: { params: ChatParams, response: { 201: UploadResult, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody, 415: ErrorBody } } },
    async (request, reply) => {
      // Checked before a byte of the body is read.
      if (!(await app.core.membership.isMember(request.params.id, request.caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
      try {
        const rows = await receiveUploads(app.core, storage, request, request.params.id);
        return reply.status(201).send({ files: rows.map(fileInfoOf) });
      } catch (err) {
        if (request.raw.socket.destroyed) {
          // Nothing to answer: what it had sent is removed already.
          request.log.info({ err: (err as Error).message }, 'upload aborted by the client');
          return reply.hijack();
        }
        // The rest of a refused body is not read: close the connection after the answer.
        reply.header('connection', 'close');
        throw err;
      }
    },
  );

  app.get(
    '/api/chats/:id/files',
    { schema: { params: ChatParams, querystring: FilesQuery, response: { 200: FilesPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      if (!(await app.core.membership.isMember(request.params.id, request.caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
      const limit = request.query.limit ?? 50;
      const rows = await roomFiles(app.db, request.params.id, request.query.before, limit + 1);
      const page = rows.slice(0, limit);
      return { files: page.map(fileInfoOf), next_before: rows.length > limit ? page[page.length - 1]!.id : null };
    },
  );

  // The body is the file's bytes: no response schema (errors still leave through the error handler).
  app.get('/api/files/:id/download', { schema: { params: FileParams } }, async (request, reply) => {
    const file = await visibleFile(app.db, request.params.id);
    // A non-member learns nothing of the file, not even that it exists.
    if (!file || !(await app.core.membership.isMember(file.room_id, request.caller.id))) throw new ParleyError('FILE_NOT_FOUND');
    const etag = `"${file.sha256}"`;
    reply
      .header('content-type', file.mime_type === 'text/plain' ? 'text/plain; charset=utf-8' : file.mime_type)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('content-disposition', contentDisposition(file.name, { type: isInlineSafe(file.mime_type) ? 'inline' : 'attachment' }))
      .header('accept-ranges', 'bytes')
      .header('etag', etag)
      .header('cache-control', 'private, no-cache');
    if (request.headers['if-none-match'] === etag) return reply.status(304).send();

    const ifRange = request.headers['if-range'];
    const ranges = request.headers.range && (!ifRange || ifRange === etag) ? rangeParser(file.size, request.headers.range, { combine: true }) : undefined;
    if (ranges === -1) {
      reply.header('content-range', `bytes */${file.size}`);
      throw new ParleyError('RANGE_NOT_SATISFIABLE');
    }
    // One range is served as 206; a malformed header, or several ranges, get the whole file.
    if (Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1) {
      const { start, end } = ranges[0]!;
      return reply
        .status(206)
        .header('content-range', `bytes ${start}-${end}/${file.size}`)
        .header('content-length', end - start + 1)
        .send(storage.get(file.storage_key, { start, end }));
    }
    return reply.header('content-length', file.size).send(storage.get(file.storage_key));
  });
};
export default files;
