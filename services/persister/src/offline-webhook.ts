import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { offlineCandidates, type Database, type Kysely, type NewMessage } from '@parley/db';
import { readPresence, type Keys, type RedisClient } from '@parley/redis';
import type { AfterCommit } from './after-commit.js';

export interface WebhookConfig {
  url: string;
  secret: string;
  batchMs: number;
  batchMax: number;
  retries: number;
  timeoutMs: number;
  queueMax: number;
  presenceTtlMs: number;
}

/** One message for the customer's backend to push to members with no socket anywhere. */
export interface Notification {
  chat_id: number;
  seq: number;
  message_id: string;
  sender_id: string | null;
  message_type: string;
  /** The start of the text, for the push's body. */
  preview: string;
  created_at: string;
  recipients: string[];
}

const PREVIEW_LENGTH = 100;
const BACKOFF_MAX_MS = 10_000;

/** The signature header's value: HMAC-SHA256 of the exact body with the shared secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Offline notifications: after a batch is in Postgres, each new message's members who are offline
 * on every gateway (and have not muted the room), the sender aside, are posted to WEBHOOK_URL in
 * batches, signed, retried with backoff. Everything runs beside the persister's loop, never in it:
 * `committed` returns at once, and a slow or failing endpoint delays only further notifications. The
 * queue is bounded (WEBHOOK_QUEUE_MAX); past it the oldest are dropped, with a warning.
 */
export class Notifier implements AfterCommit {
  readonly name = 'offline notifications';
  private pending: Notification[] = [];
  private work: Promise<void> = Promise.resolve();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly config: WebhookConfig,
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly log: Logger,
  ) {}

  /** Takes a persisted batch's rows; works out the recipients in the background. */
  committed(rows: readonly NewMessage[]): void {
    const messages = rows.filter((r) => (r.kind ?? 'message') === 'message' && r.type !== 'system');
    if (messages.length === 0 || this.stopped) return;
    this.work = this.work
      .then(() => this.recipients(messages))
      .then((notifications) => this.add(notifications))
      .catch((err: Error) => this.log.error({ err: err.message }, 'offline notifications: recipients not worked out'));
  }

  /** Sends what is queued (with its retries) and stops taking more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.work;
    clearTimeout(this.timer);
    while (this.pending.length > 0 || this.flushing) await (this.flushing ?? this.flush());
  }

  private async recipients(messages: NewMessage[]): Promise<Notification[]> {
    const rooms = [...new Set(messages.map((m) => m.room_id))];
    const members = await offlineCandidates(this.db, rooms);
    const users = [...new Set(members.map((m) => m.user_id))];
    const offline = new Set(
      (await readPresence(this.redis, this.keys, this.config.presenceTtlMs, users)).filter((p) => p.state === 'offline').map((p) => p.user_id),
    );
    // Each room's offline members, once: a batch holds many messages of few rooms.
    const offlineOf = new Map<number, string[]>();
    for (const x of members) {
      if (!offline.has(x.user_id)) continue;
      const list = offlineOf.get(x.room_id) ?? [];
      list.push(x.user_id);
      offlineOf.set(x.room_id, list);
    }
    return messages.flatMap((m) => {
      const recipients = (offlineOf.get(m.room_id) ?? []).filter((user) => user !== m.sender_id);
      if (recipients.length === 0) return [];
      return [
        {
          chat_id: m.room_id,
          seq: Number(m.seq),
          message_id: String(m.id),
          sender_id: m.sender_id ?? null,
          message_type: String(m.type),
          preview: String(m.content).slice(0, PREVIEW_LENGTH),
          created_at: String(m.created_at),
          recipients,
        },
      ];
    });
  }

  private add(notifications: Notification[]): void {
    if (notifications.length === 0) return;
    this.pending.push(...notifications);
    const over = this.pending.length - this.config.queueMax;
    if (over > 0) {
      this.pending.splice(0, over);
      this.log.warn({ dropped: over }, 'offline notifications: queue full, oldest dropped');
    }
    if (this.pending.length >= this.config.batchMax) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.config.batchMs);
  }

  /** Posts one batch at a time, in order. */
  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.pending.length === 0) return this.flushing ?? Promise.resolve();
    const batch = this.pending.splice(0, this.config.batchMax);
    this.flushing = this.post(batch).finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0) void this.flush();
    });
    return this.flushing;
  }

  private async post(notifications: Notification[]): Promise<void> {
    const body = JSON.stringify({ notifications });
    const headers = { 'content-type': 'application/json', 'x-parley-signature': signature(this.config.secret, body), 'x-parley-delivery': randomUUID() };
    for (let attempt = 0; attempt <= this.config.retries; attempt++) {
      try {
        const res = await fetch(this.config.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.config.timeoutMs) });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        this.log.warn({ status: res.status, attempt }, 'offline notifications: webhook refused');
      } catch (err) {
        this.log.warn({ err: (err as Error).message, attempt }, 'offline notifications: webhook unreachable');
      }
      if (attempt < this.config.retries) await delay(Math.min(BACKOFF_MAX_MS, 200 * 2 ** attempt));
    }
    this.log.error({ notifications: notifications.length }, 'offline notifications: given up after retries');
  }
}
