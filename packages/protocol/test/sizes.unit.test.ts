import t from 'tap';
import { formatBytes } from '@parley/protocol';

t.test('byte counts as people read them', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0 B'],
    [28, '28 B'],
    [1023, '1023 B'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [10 * 1024, '10 KB'],
    [1024 * 1024 - 1, '1 MB'],
    [10 * 1024 * 1024, '10 MB'],
    [2.25 * 1024 ** 3, '2.3 GB'],
    [5 * 1024 ** 5, '5120 TB'],
  ];
  for (const [bytes, text] of cases) t.equal(formatBytes(bytes), text, `${bytes}`);
});
