// `parley`: the operators' and developers' command (see `parley help`), as a function of its
// arguments, environment and output, so that a test runs it in-process; main.ts is the process.
import { parseArgs } from 'node:util';
import { Type } from '@sinclair/typebox';
import { readEnv, SharedEnv } from '@parley/config';
import WebSocket from 'ws';
import { ParleyClient, ParleyRequestError } from '@parley/client';
import { createDb, migrateToLatest } from '@parley/db';
import type { Chat, ServerFrameOf } from '@parley/protocol';
import { clusterStatus } from './status.js';
import { devToken, UsageError } from './token.js';
import { listDeadLetters, retryDeadLetters } from './dead-letters.js';
import { deploymentOf } from './deployment.js';

export const usage = `usage: parley <command> [options]

  token <user-id> [--name NAME] [--role ROLE] [--ttl SECONDS]
                      print a development token signed with JWT_SECRET (not in production)
  migrate             apply every pending migration to DATABASE_URL
  room create <name> [--member USER]... [--private]
                      create a group room; prints it as JSON
  room direct <user-id>
                      open (or find) the direct chat with a user; prints it as JSON
  send <chat-id> <text> [--client-id ID]
                      send a text message; prints the ack as JSON (same --client-id: sent once)
  tail <chat-id> [--from SEQ] [--count N]
                      print the room's events as JSON lines, live, from after SEQ (default: now);
                      stops after N events, or on Ctrl-C
  status [--json]     the gateways alive (sockets, users) and the persisters' lag, from REDIS_URL
  dead-letters [--json] [--count N]
                      the events Postgres refused, which the persisters set aside, from REDIS_URL
  dead-letters retry (<id>... | --all)
                      move dead letters back to the event stream for the persisters to try again

  room, send and tail talk to a gateway or the load balancer:
    --url URL         PARLEY_URL, default http://127.0.0.1:8080
    --token JWT       PARLEY_TOKEN; or
    --as USER-ID      a development token for that user, signed with JWT_SECRET`;

const options = {
  name: { type: 'string' },
  role: { type: 'string' },
  ttl: { type: 'string', default: '86400' },
  member: { type: 'string', multiple: true },
  private: { type: 'boolean' },
  'client-id': { type: 'string' },
  from: { type: 'string' },
  count: { type: 'string' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  as: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Where a run of the command writes, and what ends a `tail` (Ctrl-C, for the process). */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  interrupted?: Promise<void>;
}

/**
 * Runs `parley <argv>` with this environment; resolves with its exit status: 0 done, 1 failed
 * (what failed said on `err`), 2 a usage error (said with the usage).
 */
export async function parley(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  try {
    const { values: opts, positionals } = parseArgs({ args: argv, allowPositionals: true, options });
    await run(positionals, opts, env, io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`parley: ${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    io.err(`parley: ${err instanceof ParleyRequestError ? `${err.code}: ${err.message}` : (err as Error).message}`);
    return 1;
  }
}

type Options = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof options }>>['values'];

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number`);
  return n;
}

function chatId(value: string | undefined): number {
  const id = value === undefined ? undefined : wholeNumber(value, '<chat-id>');
  if (!id) throw new UsageError('give a chat id (a positive whole number)');
  return id;
}

/** An SDK client for the room commands: the URL and token from the options or the environment. */
function client(opts: Options, env: NodeJS.ProcessEnv, resume?: Record<number, number>): ParleyClient {
  const base = new URL(opts.url ?? env.PARLEY_URL ?? 'http://127.0.0.1:8080');
  const token = opts.token ?? env.PARLEY_TOKEN ?? (opts.as ? devToken(env, opts.as, { ttlSeconds: 3600 }) : undefined);
  if (!token) throw new UsageError('give --token (or PARLEY_TOKEN), or --as USER-ID with JWT_SECRET set');
  const ws = new URL('/ws', base);
  ws.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return new ParleyClient({ url: ws.toString(), apiUrl: base.origin, token, WebSocket, resume });
}

async function tail(id: number, from: number | undefined, count: number | undefined, opts: Options, env: NodeJS.ProcessEnv, io: CliIo): Promise<void> {
  const parley = client(opts, env, from === undefined ? undefined : { [id]: from });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const show = (event: ServerFrameOf<'message' | 'message_edited' | 'message_deleted'>) => {
      if (event.chat_id !== id) return;
      io.out(JSON.stringify(event));
      if (count !== undefined && ++seen >= count) resolve();
    };
    parley.on('message', show);
    parley.on('message_edited', show);
    parley.on('message_deleted', show);
    parley.on('welcome', (welcome) => {
      if (!welcome.chats.some((c) => c.chat_id === id)) reject(new ParleyRequestError('ROOM_NOT_MEMBER', `not a member of chat ${id}`));
      else io.err(`parley: tailing chat ${id} on ${welcome.node_id}`);
    });
    void io.interrupted?.then(resolve);
    parley.connect();
  }).finally(() => parley.close());
}

async function run(positionals: string[], opts: Options, env: NodeJS.ProcessEnv, io: CliIo): Promise<void> {
  const print = (value: unknown) => io.out(JSON.stringify(value));
  const [command, ...args] = positionals;
  switch (opts.help ? 'help' : command) {
    case 'token': {
      if (args.length !== 1) throw new UsageError('give exactly one user id');
      const ttl = wholeNumber(opts.ttl, '--ttl');
      if (!ttl) throw new UsageError('--ttl must be a positive whole number of seconds');
      return io.out(devToken(env, args[0]!, { name: opts.name, role: opts.role, ttlSeconds: ttl }));
    }
    case 'migrate': {
      if (!env.DATABASE_URL) throw new UsageError('DATABASE_URL is required (for example postgres://parley@127.0.0.1:5432/parley)');
      const url = readEnv(Type.Object({ DATABASE_URL: SharedEnv.DATABASE_URL }), env).DATABASE_URL;
      const db = createDb({ url, poolSize: 1 });
      try {
        const applied = await migrateToLatest(db);
        return io.out(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
      } finally {
        await db.destroy();
      }
    }
    case 'room': {
      const [what, arg] = args;
      if (what === 'create' && arg) {
        return print(
          await client(opts, env).request<Chat>('POST', '/api/chats', { type: 'group', name: arg, is_public: !opts.private, member_ids: opts.member ?? [] }),
        );
      }
      if (what === 'direct' && arg) return print(await client(opts, env).request<Chat>('POST', '/api/chats', { type: 'direct', user_id: arg }));
      throw new UsageError('room create <name> | room direct <user-id>');
    }
    case 'send': {
      const [id, text] = args;
      if (!text || args.length !== 2) throw new UsageError('send <chat-id> <text> (quote the text)');
      const body = { client_id: opts['client-id'] ?? `cli-${crypto.randomUUID()}`, message_type: 'text', content: text };
      return print(await client(opts, env).request('POST', `/api/chats/${chatId(id)}/messages`, body));
    }
    case 'tail':
      if (args.length !== 1) throw new UsageError('tail <chat-id>');
      return tail(chatId(args[0]), wholeNumber(opts.from, '--from'), wholeNumber(opts.count, '--count'), opts, env, io);
    case 'status': {
      const { PRESENCE_TTL_SECONDS: ttlSeconds } = readEnv(Type.Object({ PRESENCE_TTL_SECONDS: SharedEnv.PRESENCE_TTL_SECONDS }), env);
      const status = await clusterStatus(deploymentOf(env), ttlSeconds * 1000);
      if (opts.json) return print(status);
      const r = status.redis;
      io.out(`redis: ${r.mode}, ${r.whole ? 'whole' : 'NOT WHOLE'}`);
      for (const m of r.masters)
        io.out(
          `  master ${m.address}  slots ${m.slots}  replicas ${m.replicas.map((x) => `${x.address}${x.connected ? '' : ' (unlinked)'}`).join(', ') || 'none'}`,
        );
      for (const f of r.failed) io.out(`  failed ${f}`);
      for (const i of r.idle) io.out(`  idle ${i} (a master serving no slot)`);
      io.out(`gateways alive: ${status.gateways.length}`);
      for (const g of status.gateways)
        io.out(`  ${g.node}  sockets ${g.sockets}  users ${g.users}  heartbeat ${(g.last_heartbeat_ms_ago / 1000).toFixed(1)} s ago`);
      const p = status.persister;
      io.out(
        `persister lag: stream ${p.stream_length}, pending ${p.pending}, oldest pending ${p.oldest_pending_age_seconds.toFixed(1)} s; dead letters ${p.dead_letters}`,
      );
      for (const c of p.consumers) io.out(`  ${c.name}  pending ${c.pending}  idle ${(c.idle_ms / 1000).toFixed(1)} s`);
      for (const q of p.partitions) io.out(`  partition ${q.partition}  stream ${q.stream_length}  pending ${q.pending}  dead letters ${q.dead_letters}`);
      return;
    }
    case 'dead-letters': {
      const deployment = deploymentOf(env);
      if (args[0] === 'retry') {
        const ids = args.slice(1);
        if (Boolean(opts.all) === ids.length > 0) throw new UsageError('dead-letters retry takes the ids to retry, or --all');
        const moved = await retryDeadLetters(deployment, opts.all ? undefined : ids);
        return io.out(`moved back to the event stream: ${moved.length}`);
      }
      if (args.length > 0) throw new UsageError('dead-letters [--json] [--count N] | dead-letters retry (<id>... | --all)');
      const { total, letters } = await listDeadLetters(deployment, wholeNumber(opts.count, '--count') ?? 100);
      if (opts.json) return void letters.forEach(print);
      io.out(`dead letters: ${total}${total > letters.length ? ` (the oldest ${letters.length} shown)` : ''}`);
      for (const l of letters) io.out(`  ${l.id}  room ${l.room ?? '-'}  seq ${l.seq ?? '-'}  ${l.code}: ${l.error}`);
      return;
    }
    case 'help':
      return io.out(usage);
    default:
      throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'give a command');
  }
}
