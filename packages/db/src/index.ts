export * from './database.js';
export * from './connect.js';
export * from './migrator.js';
export * from './user.repository.js';
export * from './room.repository.js';
export * from './message.repository.js';
export * from './read.repository.js';
export * from './file.repository.js';
export type { Kysely } from 'kysely';
