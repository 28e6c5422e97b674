import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Database } from './database.js';

export interface UserProfile {
  id: string;
  name?: string | null;
  avatar?: string | null;
  role?: string | null;
}

/**
 * Creates the user, or refreshes the profile of a known one from a token's claims: a claim the
 * token carries replaces the stored value, one it does not carry leaves it (a name the service set).
 */
export async function upsertUser(db: Kysely<Database>, user: UserProfile): Promise<void> {
  const profile = { name: user.name ?? null, avatar: user.avatar ?? null, role: user.role ?? null };
  await db
    .insertInto('users')
    .values({ id: user.id, ...profile })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        name: eb.fn.coalesce('excluded.name', 'users.name'),
        avatar: eb.fn.coalesce('excluded.avatar', 'users.avatar'),
        role: eb.ref('excluded.role'),
        updated_at: new Date(),
      })),
    )
    .execute();
}

/** The service sets a profile: fields given replace (null clears), fields left out stay. */
export async function setProfile(db: Kysely<Database>, id: string, profile: { name?: string | null; avatar?: string | null }): Promise<void> {
  await db
    .insertInto('users')
    .values({ id, ...profile })
    .onConflict((oc) => oc.column('id').doUpdateSet({ ...profile, updated_at: new Date() }))
    .execute();
}

/**
 * Profiles `callerId` may see among `ids`: their own, users who share a room with them, and anyone
 * who wrote in one of their rooms (members who left included).
 */
export async function visibleProfiles(db: Kysely<Database>, callerId: string, ids: string[]) {
  return db
    .selectFrom('users as u')
    .select(['u.id', 'u.name', 'u.avatar'])
    .where('u.id', 'in', ids)
    .where(({ eb, or, exists, selectFrom }) =>
      or([
        eb('u.id', '=', callerId),
        exists(sharedRoom(selectFrom, callerId)),
        exists(
          selectFrom('room_members as me')
            .innerJoin('messages as m', 'm.room_id', 'me.room_id')
            .select('m.room_id')
            .where('me.user_id', '=', callerId)
            .whereRef('m.sender_id', '=', 'u.id'),
        ),
      ]),
    )
    .orderBy('u.id')
    .execute();
}

/** Makes sure rows exist for ids seen only as someone else's reference (a room peer, an added member). */
export async function ensureUsers(db: Kysely<Database>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .insertInto('users')
    .values(ids.map((id) => ({ id })))
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** A room that `userId` and the outer query's user `u` are both members of. */
const sharedRoom = (selectFrom: ExpressionBuilder<Database & { u: Database['users'] }, 'u'>['selectFrom'], userId: string) =>
  selectFrom('room_members as me')
    .innerJoin('room_members as other', 'other.room_id', 'me.room_id')
    .select('me.room_id')
    .where('me.user_id', '=', userId)
    .whereRef('other.user_id', '=', 'u.id');

/**
 * Users by id, with their profiles: those who share at least one room with `sharingWith` (not
 * themself), or everyone without it; with `ids`, only those; with `q`, only those whose id or name
 * starts with it (case-insensitive for names).
 */
export async function listUsers(db: Kysely<Database>, options: { sharingWith?: string; q?: string; ids?: string[]; limit: number; skip: number }) {
  const { sharingWith, q, ids, limit, skip } = options;
  let query = db.selectFrom('users as u').select(['u.id', 'u.name', 'u.avatar']);
  if (ids !== undefined) query = query.where('u.id', 'in', ids);
  if (sharingWith !== undefined) query = query.where('u.id', '<>', sharingWith).where(({ exists, selectFrom }) => exists(sharedRoom(selectFrom, sharingWith)));
  if (q !== undefined) {
    const prefix = `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb('u.id', 'like', prefix), eb('u.name', 'ilike', prefix)]));
  }
  return query.orderBy('u.id').limit(limit).offset(skip).execute();
}

/**
 * A user's message counts from Postgres: messages sent, and messages others sent in the user's
 * rooms (system and deleted messages left out).
 */
export async function messageCountsOf(db: Kysely<Database>, userId: string): Promise<{ sent: number; received: number }> {
  const { rows } = await sql<{ sent: string; received: string }>`
    select
      (select count(*) from messages where sender_id = ${userId} and kind = 'message' and type <> 'system' and deleted_at is null) as sent,
      (select count(*) from messages m join room_members me on me.room_id = m.room_id and me.user_id = ${userId}
        where m.kind = 'message' and m.type <> 'system' and m.deleted_at is null and m.sender_id <> ${userId}) as received`.execute(db);
  return { sent: Number(rows[0]?.sent ?? 0), received: Number(rows[0]?.received ?? 0) };
}

/** Mutes or unmutes a room for a member; false when the user is not a member. */
export async function setMuted(db: Kysely<Database>, roomId: number, userId: string, muted: boolean): Promise<boolean> {
  const row = await db
    .updateTable('room_members')
    .set({ muted })
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}
