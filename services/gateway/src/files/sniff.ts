import { fileTypeFromBuffer } from 'file-type';

/** Bytes read before the type is decided: file-type's own sample size. */
export const SNIFF_BYTES = 4100;

/** Markup a browser would render or run, looked for at the start of text that file-type does not know. */
const MARKUP: Array<[RegExp, string]> = [
  [/<svg[\s>]/i, 'image/svg+xml'],
  [/<(!doctype\s+html|html|head|body|script|iframe|object|embed|meta|style|link|img|a|div|form)[\s>/]/i, 'text/html'],
  [/^\s*<\?xml/i, 'application/xml'],
];

/**
 * The type of a file from its first bytes, never from its name or the uploader's Content-Type:
 * file-type's signature, else, for UTF-8 text, markup (SVG, HTML, XML) or text/plain, else
 * application/octet-stream.
 */
export async function sniffType(head: Buffer): Promise<string> {
  const known = await fileTypeFromBuffer(head);
  // XML is read on as text: it may be an SVG.
  if (known && known.mime !== 'application/xml') return known.mime;
  if (head.length === 0 || head.includes(0)) return 'application/octet-stream';
  let text: string;
  try {
    // `stream: true` lets the sample end inside a multi-byte character.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    return 'application/octet-stream';
  }
  return MARKUP.find(([re]) => re.test(text))?.[1] ?? 'text/plain';
}

/** Whether `mime` is in an allowlist of types and `type/*` wildcards. */
export function isAllowed(mime: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => a === mime || (a.endsWith('/*') && mime.startsWith(a.slice(0, -1))));
}

/** Types a browser shows without running anything: served inline; every other type is an attachment. */
export function isInlineSafe(mime: string): boolean {
  return /^(image\/(jpeg|png|gif|webp|avif|bmp)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+)$/.test(mime);
}
