import t, { type Test } from 'tap';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, eventually, freePort, scratchDir, HandshakeRefused, TestClient } from '@parley/testkit';
import { launchChromium, signIn } from '@parley/testkit/browser';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Inside a 0700 directory, as a clone under root's home is: as root, the postgres user cannot enter
// it, and the script must still start (keeping Postgres' files where that user can reach them).
const parent = mkdtempSync(join(scratchDir(), 'parley-cluster-'));
const data = join(parent, 'data');
t.teardown(() => {
  const pg = join(data, 'postgres');
  if (existsSync(pg) && lstatSync(pg).isSymbolicLink()) rmSync(dirname(readlinkSync(pg)), { recursive: true, force: true });
  rmSync(parent, { recursive: true, force: true });
});

const ports = { lb: await freePort(), redis: await freePort(), pg: await freePort(), gateways: [await freePort(), await freePort(), await freePort()] };
const env = {
  ...process.env,
  PARLEY_DATA: data,
  LB_PORT: String(ports.lb),
  REDIS_PORT: String(ports.redis),
  PG_PORT: String(ports.pg),
  GATEWAY_PORTS: ports.gateways.join(','),
  METRICS_PORT_BASE: '0',
};
const lb = `http://127.0.0.1:${ports.lb}`;
const allPorts = [ports.lb, ports.redis, ports.pg, ...ports.gateways];

async function startCluster(t: Test): Promise<Child> {
  const cluster = new Child('cluster', 'bash', [join(root, 'infra/cluster.sh'), 'start'], { env, cwd: root });
  // A test that fails midway must not leave the cluster's detached services holding the ports (and
  // the next test, and this process, waiting on them).
  t.teardown(async () => {
    if (!cluster.exitInfo) await new Child('cluster-stop', 'bash', [join(root, 'infra/cluster.sh'), 'stop'], { env, cwd: root }).exited;
  });
  // It installs, builds and starts everything: bounded by its progress, not by a clock.
  await cluster.started(/cluster ready/, 60_000);
  return cluster;
}

/** Every pid the cluster recorded (its services and the Postgres postmaster). */
function clusterPids(): number[] {
  const run = join(data, 'run');
  const pids = readdirSync(run)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => Number(readFileSync(join(run, f), 'utf8')));
  const postmaster = join(data, 'postgres', 'postmaster.pid');
  if (existsSync(postmaster)) pids.push(Number(readFileSync(postmaster, 'utf8').split('\n')[0]));
  return pids;
}

/** Running, that is: signalable and not a zombie waiting for its (re)parent to reap it. */
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const status = existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  return !/^State:\s+Z/m.test(status);
};
const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer().once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

async function stopCluster(t: Test, cluster: Child) {
  const pids = clusterPids();
  const stop = new Child('cluster-stop', 'bash', [join(root, 'infra/cluster.sh'), 'stop'], { env, cwd: root });
  t.equal((await stop.exited).code, 0, 'infra/cluster.sh stop succeeds');
  t.equal((await cluster.exited).code, 0, 'the cluster script exits cleanly');
  const order = cluster.lines.filter((l) => /stopping|stopped/.test(l));
  t.same(order, ['[parley] stopping', '[parley] stopped']);
  t.same(pids.filter(isAlive), [], `no process left of ${pids.length}`);
  t.same(
    (await Promise.all(allPorts.map(async (p) => [p, await portFree(p)] as const))).filter(([, free]) => !free),
    [],
    'every port is free again',
  );
}

const post = async (path: string, token: string | undefined, body: unknown) => {
  const res = await fetch(lb + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, node: res.headers.get('x-parley-node'), body: await res.json() };
};
const get = async (path: string, token: string) => (await fetch(lb + path, { headers: { authorization: `Bearer ${token}` } })).json();

let room = 0;
let anaToken = '';

/** Runs the README's tour, its two terminals as written, against this cluster. */
async function tour(t: Test) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Five-minute tour'), readme.indexOf('## docker-compose'));
  const blocks = (lang: string) => [...section.matchAll(new RegExp(`\`\`\`${lang}\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
  const commands = blocks('sh');
  t.equal(commands.length, 2, 'the tour has two terminals');
  const examples = ['bob.mjs', 'alice.mjs', 'dev-token.mjs'].map((f) => readFileSync(join(root, 'examples/tour', f), 'utf8'));
  for (const code of blocks('js'))
    t.ok(
      examples.some((e) => e.includes(code)),
      `the code shown is the code run: ${code.split('\n')[0]}`,
    );

  const tourEnv = { ...env, PARLEY_URL: lb };
  const bob = new Child('tour-bob', 'bash', ['-euo', 'pipefail', '-c', commands[0]!], { cwd: root, env: tourEnv, detached: true });
  const bobNode = /bob is on gateway (\S+)/.exec(await bob.waitFor(/bob is on gateway/, 30_000))![1];
  const alice = new Child('tour-alice', 'bash', ['-euo', 'pipefail', '-c', commands[1]!], { cwd: root, env: tourEnv });
  t.equal((await alice.exited).code, 0, 'Alice’s script runs to its end: Bob’s read receipt reached her');
  const aliceOut = alice.lines.join('\n');
  const aliceNode = /alice is on gateway (\S+)/.exec(aliceOut)?.[1];
  t.comment(`bob listens on ${bobNode}; alice sends through ${aliceNode}`);
  t.not(aliceNode, bobNode, 'the two are on different gateways');
  const chat = /sent to chat (\d+) as #1$/m.exec(aliceOut)?.[1];
  t.ok(chat, 'the ack came with seq 1');
  t.match(aliceOut, /^resent: #1, duplicate: true$/m, 'the resend got the original ack');
  t.match(aliceOut, /^history #1 alice: hello bob$/m, 'history lists it');
  t.match(aliceOut, /^bob has read up to #1$/m, 'Bob’s read receipt');
  t.ok(await bob.waitFor((l) => l === `alice is typing in chat ${chat}: start`, 10_000), 'Bob saw Alice typing');
  t.ok(await bob.waitFor((l) => l === `chat ${chat} #1 alice: hello bob`, 10_000), 'Bob’s terminal shows the message arriving live');
  t.equal(bob.lines.filter((l) => l.includes('hello bob')).length, 1, 'once, though Alice sent it twice');
  await bob.kill('SIGTERM');
}

/** Runs each command the script printed for its user, exactly as printed. */
async function scriptHints(t: Test, cluster: Child) {
  const hints = cluster.lines.flatMap((l) => /^\[parley\] (?:status: | {2}or: | {2})((?:curl |\S+=\S+ npx parley |JWT_SECRET=).*)$/.exec(l)?.[1] ?? []);
  t.equal(hints.length, 3, `the script's hints: ${hints.join(' | ')}`);
  for (const hint of hints) {
    const run = new Child('hint', 'bash', ['-euo', 'pipefail', '-c', hint], { cwd: root, env });
    t.equal((await run.exited).code, 0, `runs as printed: ${hint}`);
    t.match(run.lines.join('\n'), /gateways alive: 3|eyJ/, 'and does what it says');
  }
  const visit = await fetch(`${lb}/`, { redirect: 'manual' });
  t.match(
    { status: visit.status, location: visit.headers.get('location') },
    { status: 302, location: '/chat' },
    'the first URL printed leads to the chat page',
  );
  for (const path of ['/metrics', '/%6Detrics', '/%6d%65trics']) {
    const res = await fetch(lb + path);
    t.same(
      { status: res.status, keepAlive: res.headers.get('keep-alive') },
      { status: 404, keepAlive: visit.headers.get('keep-alive') },
      `${path} is not served through the load balancer`,
    );
  }
}

/**
 * A client may reuse an idle connection for as long as the Keep-Alive header says: HAProxy must keep
 * it open at least that long, on a response of a gateway's. (It passed on the gateway's own 72 s
 * while closing at 10 s, and a fetch reusing such a connection failed with "other side closed".)
 */
async function keepAliveHonest(t: Test) {
  const socket = connect(ports.lb, '127.0.0.1');
  socket.setEncoding('utf8');
  socket.write('GET /health/ready HTTP/1.1\r\nhost: parley\r\n\r\n');
  let response = '';
  const answered = new Promise<number>((resolve) => socket.on('data', (chunk: string) => (response += chunk).includes('\r\n\r\n') && resolve(Date.now())));
  const closed = new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
  const at = await answered;
  const advertised = Number(/^keep-alive: timeout=(\d+)\r$/im.exec(response)?.[1]);
  t.ok(advertised > 0, `HAProxy tells clients an idle connection lasts ${advertised} s`);
  const lasted = (await closed) - at;
  t.ok(lasted >= advertised * 1000, `and keeps it open that long: closed after ${lasted} ms idle`);
  socket.destroy();
}

/** A browser session on the demo page through the load balancer, then every log of every process scanned. */
async function logsHoldNoSecrets(t: Test) {
  const browser = await launchChromium(t);
  const cara = await (await browser.newContext()).newPage();
  await signIn(cara, lb, 'cara', 'Cara');
  await cara.fill('#new-direct input', 'ana');
  await cara.click('#new-direct button');
  await cara.waitForSelector('#room-title:text("ana")');
  await cara.fill('#text', 'browser secret text 1');
  await cara.press('#text', 'Enter');
  await cara.waitForSelector('#messages li:has-text("browser secret text 1")');
  // The page's socket carried its token in the URL (`/ws?token=…`); a search carries a keyword in it.
  const search = await fetch(`${lb}/api/messages/search?keyword=${encodeURIComponent('search secret 2')}`, {
    headers: { authorization: `Bearer ${anaToken}` },
  });
  t.equal(search.status, 200, 'a search through the load balancer');
  await browser.close();

  // Any JWT at all (Cara's page minted its own), and the texts this file sent.
  const secrets = ['hello bob', 'hi alice', 'browser secret text 1', 'search secret 2', 'search%20secret%202', anaToken];
  const logs = join(data, 'logs');
  const lines = readdirSync(logs).flatMap((f) =>
    readFileSync(join(logs, f), 'utf8')
      .split('\n')
      .map((line) => ({ f, line })),
  );
  t.ok(
    lines.some(({ f }) => f === 'haproxy.log'),
    `scanned ${lines.length} lines of ${readdirSync(logs).length} logs, HAProxy's included`,
  );
  const leaks = lines.filter(({ line }) => /eyJ[\w-]{6,}\.eyJ[\w-]{6,}\./.test(line) || secrets.some((s) => line.includes(s)));
  t.same(
    leaks.map(({ f, line }) => `${f}: ${line}`),
    [],
    'no log line holds a token or a message text',
  );
}

t.test('the cluster comes up, two clients on different gateways talk through the load balancer', async (t) => {
  const cluster = await startCluster(t);
  const keepAlive = keepAliveHonest(t);
  const status = new Child('parley-status', process.execPath, [join(root, 'packages/cli/dist/main.js'), 'status', '--json'], {
    env: { ...env, REDIS_URL: `redis://127.0.0.1:${ports.redis}` },
  });
  t.equal((await status.exited).code, 0, 'parley status');
  const seen = JSON.parse(status.lines[0]!);
  t.same(
    seen.gateways.map((g: { node: string }) => g.node),
    ['gateway-1', 'gateway-2', 'gateway-3'],
    'parley status: the three gateways',
  );
  t.same(seen.persister.consumers.map((c: { name: string }) => c.name).sort(), ['persister-1', 'persister-2'], 'and both persisters');
  const alice = (await post('/dev/tokens', undefined, { sub: 'ana' })).body.token as string;
  const bob = (await post('/dev/tokens', undefined, { sub: 'ben' })).body.token as string;
  anaToken = alice;
  room = (await post('/api/chats', alice, { type: 'group', name: 'smoke', member_ids: ['ben'] })).body.id;

  const a = await TestClient.open(`ws://127.0.0.1:${ports.lb}/ws`, alice);
  const b = await TestClient.open(`ws://127.0.0.1:${ports.lb}/ws`, bob);
  t.comment(`alice on ${a.welcome.node_id}, bob on ${b.welcome.node_id}`);
  t.not(a.welcome.node_id, b.welcome.node_id, 'least-connections put them on different gateways');
  t.match(await a.client.sendMessage(room, 'hi bob', 'a-1'), { type: 'ack', seq: 1 });
  t.equal((await b.client.waitForSeq(room, 1)).content, 'hi bob', 'bob got alice’s message');
  t.match(await b.client.sendMessage(room, 'hi alice', 'b-1'), { type: 'ack', seq: 2 });
  t.equal((await a.client.waitForSeq(room, 2)).content, 'hi alice', 'alice got bob’s message');
  const history = await get(`/api/chats/${room}/messages`, bob);
  t.same(
    history.messages.map((m: { content: string }) => m.content),
    ['hi alice', 'hi bob'],
    'both are in history',
  );

  // Kill alice's gateway: new connections go to the others.
  const victim = a.welcome.node_id;
  process.kill(Number(readFileSync(join(data, 'run', `${victim}.pid`), 'utf8')), 'SIGKILL');
  const killedAt = Date.now();
  for (let i = 0; i < 6; i++) {
    // A handshake HAProxy passed to the victim as it died fails with 502; a client retries it.
    const c = await TestClient.open(`ws://127.0.0.1:${ports.lb}/ws`, alice).catch((err) => {
      if (!(err instanceof HandshakeRefused && err.status === 502)) throw err;
      t.comment(`connection ${i + 1} met the dying gateway (502): retried`);
      return TestClient.open(`ws://127.0.0.1:${ports.lb}/ws`, alice);
    });
    t.not(c.welcome.node_id, victim, `connection ${i + 1} after the kill landed on ${c.welcome.node_id}`);
    await c.client.close();
  }
  const haproxyLog = join(data, 'logs', 'haproxy.log');
  await eventually(() => readFileSync(haproxyLog, 'utf8').includes(`gateways/${victim} is DOWN`), 10_000, 'HAProxy marks the gateway down');
  t.comment(`HAProxy took ${Date.now() - killedAt} ms to mark ${victim} down (check every 1 s, fall 2)`);
  await Promise.all([a.client.close(), b.client.close()]);

  await tour(t);
  await scriptHints(t, cluster);
  await keepAlive;
  await logsHoldNoSecrets(t);
  await stopCluster(t, cluster);
});

t.test('a restarted cluster keeps its data', async (t) => {
  const cluster = await startCluster(t);
  const history = await get(`/api/chats/${room}/messages`, anaToken);
  t.same(
    history.messages.map((m: { content: string }) => m.content),
    ['hi alice', 'hi bob'],
    'history survived the restart',
  );
  await stopCluster(t, cluster);
});

t.test('a step that fails says which, shows its log, and stops what was started', async (t) => {
  // Postgres' port taken: Redis comes up, then pg_ctl cannot start the server.
  const taken = createServer().listen(ports.pg, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  t.teardown(() => taken.close());
  const failed = new Child('cluster-failing', 'bash', [join(root, 'infra/cluster.sh'), 'start'], { env, cwd: root });
  t.equal((await failed.exited).code, 1, 'the script exits 1');
  const out = failed.lines.join('\n');
  t.match(
    out,
    /\[parley\] error: postgres \(pg_ctl start; its server log is \S+postgres\.log\) failed; the end of \S+pg_ctl\.log:/,
    'it names the step and its logs',
  );
  t.match(out, /\[parley\] {3}.*could not start server/, 'and shows the end of the log');
  t.same(
    failed.lines.filter((l) => /^\[parley\] (stopping|stopped)$/.test(l)),
    ['[parley] stopping', '[parley] stopped'],
    'then stops what it started',
  );
  t.ok(await portFree(ports.redis), 'Redis is gone with it');
});
