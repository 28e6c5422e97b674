import { randomBytes } from 'node:crypto';
import type { GatewayProcess } from './services.js';

/** One part of a multipart/form-data body: a file (with `filename`) or a plain field. */
export interface Part {
  filename?: string;
  type?: string;
  data: Buffer;
  field?: string;
}

/** A multipart/form-data body built byte by byte, so that file names arrive exactly as written. */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `parley${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition =
      p.filename === undefined
        ? `form-data; name="${p.field ?? 'note'}"`
        : `form-data; name="${p.field ?? 'file'}"; filename="${p.filename.replaceAll('"', '%22')}"`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`),
      p.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Uploads the parts to a room through a gateway: the status and the JSON answer. */
export async function upload(gw: GatewayProcess, roomId: number, token: string, parts: Part[]) {
  const { body, contentType } = multipart(parts);
  const res = await fetch(`${gw.url}/api/chats/${roomId}/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body: new Uint8Array(body) as unknown as BodyInit,
  });
  return { status: res.status, body: await res.json() };
}
