import t from 'tap';
import { searchTerms } from '@parley/db';

t.test('the terms of a text are its characters and adjacent pairs, once each', async (t) => {
  t.same(searchTerms(['药师在']).sort(), ['在', '师', '师在', '药', '药师'].sort());
  t.same(searchTerms(['aa', 'ab']).sort(), ['a', 'aa', 'ab', 'b'].sort(), 'the union over texts; a pair never spans two texts');
  t.same(searchTerms(['a😀b']).sort(), ['a', 'a😀', 'b', '😀', '😀b'].sort(), 'a character outside the BMP is one character, as in Postgres');
  t.same(searchTerms(['', 'x']), ['x']);
  t.same(searchTerms([]), []);
});

t.test('the same terms as splitting into characters and pairs, for any text', async (t) => {
  const naive = (texts: string[]) => {
    const terms = new Set<string>();
    for (const text of texts) {
      const chars = [...text];
      chars.forEach((c, i) => terms.add(c).add(i > 0 ? chars[i - 1] + c : c));
    }
    return [...terms].sort();
  };
  const samples = [
    ['Hello, World', '请问药师在吗', 'ÀÉÎõü ÿĀ', 'a😀b😀😀', 'mixed 药a😀Ω'],
    ['\ud83d alone', 'x\udc00y', '\uffff\u0000\u00ff\u0100'],
    [Array.from({ length: 2000 }, (_, i) => String.fromCodePoint((i * 7919) % 0x2ffff)).join('')],
  ];
  for (const texts of samples) t.same(searchTerms(texts).sort(), naive(texts), JSON.stringify(texts).slice(0, 60));
});
