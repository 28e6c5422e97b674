import type { Kysely } from 'kysely';
import type { Database } from './database.js';

export interface UserProfile {
  id: string;
  name?: string | null;
  avatar?: string | null;
  role?: string | null;
}

/** Creates the user, or refreshes the profile claims of a known one. */
export async function upsertUser(db: Kysely<Database>, user: UserProfile): Promise<void> {
  const profile = { name: user.name ?? null, avatar: user.avatar ?? null, role: user.role ?? null };
  await db
    .insertInto('users')
    .values({ id: user.id, ...profile })
    .onConflict((oc) => oc.column('id').doUpdateSet({ ...profile, updated_at: new Date() }))
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

/** The users who share at least one room with `userId`, by id, with their profiles. */
export async function contactsOf(db: Kysely<Database>, userId: string, limit: number, skip: number) {
  return db
    .selectFrom('users as u')
    .select(['u.id', 'u.name', 'u.avatar'])
    .where('u.id', '<>', userId)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('room_members as me')
          .innerJoin('room_members as other', 'other.room_id', 'me.room_id')
          .select('me.room_id')
          .where('me.user_id', '=', userId)
          .whereRef('other.user_id', '=', 'u.id'),
      ),
    )
    .orderBy('u.id')
    .limit(limit)
    .offset(skip)
    .execute();
}
