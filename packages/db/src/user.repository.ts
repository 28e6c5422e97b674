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
