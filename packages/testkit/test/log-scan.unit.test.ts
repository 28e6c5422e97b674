import t from 'tap';
import { logLeak, noteSentText, signToken } from '@parley/testkit';

t.test('the log scan finds a token or a sent message text in a service log line', async (t) => {
  const token = signToken('alice');
  t.match(logLeak(`{"level":30,"msg":"incoming request","url":"/ws?token=${token}"}`), /^a token/, 'a JWT anywhere in the line');
  noteSentText('the launch code is 0000');
  t.match(logLeak('{"level":40,"msg":"frame refused","frame":{"content":"the launch code is 0000"}}'), /^message text in "content"/, 'a sent text as a value');
  t.equal(logLeak('{"level":30,"msg":"the launch code is 0000"}'), undefined, "the msg field is the log call's own text");
  t.equal(logLeak('{"level":30,"msg":"socket open","user":"alice"}'), undefined, 'an ordinary line');
});
