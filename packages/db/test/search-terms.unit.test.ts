import t from 'tap';
import { searchTerms } from '@parley/db';

t.test('the terms of a text are its characters and adjacent pairs, once each', async (t) => {
  t.same(searchTerms(['药师在']).sort(), ['在', '师', '师在', '药', '药师'].sort());
  t.same(searchTerms(['aa', 'ab']).sort(), ['a', 'aa', 'ab', 'b'].sort(), 'the union over texts; a pair never spans two texts');
  t.same(searchTerms(['a😀b']).sort(), ['a', 'a😀', 'b', '😀', '😀b'].sort(), 'a character outside the BMP is one character, as in Postgres');
  t.same(searchTerms(['', 'x']), ['x']);
  t.same(searchTerms([]), []);
});
