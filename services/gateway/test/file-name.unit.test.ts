import t from 'tap';
import { limits } from '@parley/protocol';
import { sanitiseFileName } from '../src/files/file-name.js';

t.test('a file name keeps only its last path segment, shown as it is meant', async (t) => {
  t.equal(sanitiseFileName('report.pdf'), 'report.pdf');
  t.equal(sanitiseFileName('../../etc/passwd'), 'passwd', 'no directory climbs');
  t.equal(sanitiseFileName('C:\\Users\\bob\\cv.docx'), 'cv.docx', 'either slash');
  t.equal(sanitiseFileName('  .hidden. '), 'hidden', 'spaces and dots trimmed at either end');
});

t.test('invisible and reordering characters are removed', async (t) => {
  t.equal(sanitiseFileName('gpj\u202e.exe'), 'gpj.exe', 'a right-to-left override cannot make exe look like jpg');
  t.equal(sanitiseFileName('a\u0000b\u200bc\ufeff.txt'), 'abc.txt', 'NUL, zero-width space, BOM');
  t.equal(sanitiseFileName('cafe\u0301.txt'), 'caf\u00e9.txt', 'composed to NFC');
});

t.test('a long name is cut to the limit with its extension kept, never inside a surrogate pair', async (t) => {
  const long = sanitiseFileName(`${'a'.repeat(limits.fileNameMaxLength + 50)}.png`);
  t.equal(long.length, limits.fileNameMaxLength);
  t.ok(long.endsWith('.png'), 'the extension survives');
  const emoji = sanitiseFileName('😀'.repeat(limits.fileNameMaxLength));
  t.ok(emoji.length <= limits.fileNameMaxLength && !/[\ud800-\udbff]$/.test(emoji), 'no half of a pair at the cut');
});

t.test('nothing left is "file"', async (t) => {
  t.equal(sanitiseFileName(undefined), 'file');
  t.equal(sanitiseFileName('...'), 'file');
  t.equal(sanitiseFileName('dir/'), 'file');
});
