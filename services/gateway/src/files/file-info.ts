import type { FileRow } from '@parley/db';
import type { Attachment, FileInfo } from '@parley/protocol';

/** Where a file is downloaded: members only. */
export const downloadUrl = (id: string) => `/api/files/${id}/download`;

export function attachmentOf(row: FileRow): Attachment {
  return { id: row.id, name: row.name, size: row.size, mime_type: row.mime_type, url: downloadUrl(row.id) };
}

export function fileInfoOf(row: FileRow): FileInfo {
  return { ...attachmentOf(row), chat_id: row.room_id, uploader_id: row.uploader_id, sha256: row.sha256, created_at: row.created_at.toISOString() };
}
