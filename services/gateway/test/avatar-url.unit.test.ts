import t from 'tap';
import { avatarUrlOf } from '../src/users/avatar-url.js';

t.test('an avatar is an https: URL, or http: where allowed; nothing a browser would run', async (t) => {
  t.equal(avatarUrlOf('https://img.example/a.png', false), 'https://img.example/a.png');
  t.equal(avatarUrlOf('HTTPS://Img.Example/a b.png', false), 'https://img.example/a%20b.png', 'kept as it serializes');
  t.equal(avatarUrlOf('http://img.example/a.png', false), null, 'http: is refused by default');
  t.equal(avatarUrlOf('http://img.example/a.png', true), 'http://img.example/a.png', '…and allowed where configured');
  for (const bad of [
    'javascript:alert(1)',
    ' javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:image/svg+xml,<svg onload=alert(1)>',
    'vbscript:x',
    '/avatars/a.png',
    '//img.example/a.png',
    'https:',
    'file:///etc/passwd',
    'not a url',
  ]) {
    t.equal(avatarUrlOf(bad, true), null, `${JSON.stringify(bad)} is refused`);
  }
});
