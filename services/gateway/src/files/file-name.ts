import { limits } from '@parley/protocol';

/**
 * Control characters, bidirectional overrides and isolates (which make `gpj.exe` show as
 * `exe.jpg`), zero-width and other invisible format characters.
 */
// eslint-disable-next-line no-control-regex, no-misleading-character-class -- control and combining characters are what it removes
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]/g;

/**
 * A file name fit to show and to put in a Content-Disposition header: the last path segment
 * (either slash), without unsafe characters, trimmed of spaces and dots at either end, at most
 * `fileNameMaxLength` characters with its extension kept, and `file` when nothing is left. The name
 * is only shown: files are stored under generated keys.
 */
export function sanitiseFileName(raw: string | undefined): string {
  let name = (raw ?? '').normalize('NFC').replace(UNSAFE, '');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(/^[\s.]+|[\s.]+$/g, '');
  const max = limits.fileNameMaxLength;
  if (name.length > max) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    let cut = max - ext.length;
    // Never split a surrogate pair.
    if (/[\ud800-\udbff]/.test(name.charAt(cut - 1))) cut--;
    name = name.slice(0, cut) + ext;
  }
  return name || 'file';
}
