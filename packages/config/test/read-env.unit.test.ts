import t from 'tap';
import { Type } from '@sinclair/typebox';
import { readEnv, SharedEnv } from '@parley/config';

const Schema = Type.Object({ ...SharedEnv, NAME: Type.Optional(Type.String({ minLength: 1 })) });
const url = 'postgres://parley@127.0.0.1:5432/parley';

t.test('defaults apply, and values are converted to their types', async (t) => {
  t.same(readEnv(Schema, { DATABASE_URL: url, PRESENCE_TTL_SECONDS: '12' }), { DATABASE_URL: url, PRESENCE_TTL_SECONDS: 12, LOG_LEVEL: 'info' });
});

t.test('an empty variable counts as unset', async (t) => {
  t.same(
    readEnv(Schema, { DATABASE_URL: url, NAME: '', LOG_LEVEL: '' }),
    { DATABASE_URL: url, PRESENCE_TTL_SECONDS: 30, LOG_LEVEL: 'info' },
    'NAME absent, LOG_LEVEL its default',
  );
});

t.test('a bad or missing value throws, naming the variable', async (t) => {
  t.throws(() => readEnv(Schema, {}), /DATABASE_URL/);
  t.throws(() => readEnv(Schema, { DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  t.throws(() => readEnv(Schema, { DATABASE_URL: url, PRESENCE_TTL_SECONDS: '2' }), /PRESENCE_TTL_SECONDS/);
  t.throws(() => readEnv(Schema, { DATABASE_URL: url, LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
});
