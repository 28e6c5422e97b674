import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import {
  ChatParams,
  ContactList,
  ContactListQuery,
  ErrorBody,
  OnlineUsers,
  ParleyError,
  ProfileList,
  ProfileLookupBody,
  RoomOnline,
  UserStats,
} from '@parley/protocol';
import { listRoomMembers, listUsers, messageCountsOf, visibleProfiles } from '@parley/db';
import type { GatewayCore } from '../core.js';
import { unreadCounts } from '../rooms/read-state.js';

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

/** Contacts shown to a user: at most this many are looked up for GET /api/users/online. */
const ONLINE_CONTACTS_MAX = 1000;
/** Members of a room looked up for its online list. */
const ROOM_ONLINE_MAX = 1000;

/** Users with their profiles and presence, as GET /api/users and GET /api/service/users list them. */
export async function directory(core: GatewayCore, options: Parameters<typeof listUsers>[1]): Promise<Static<typeof ContactList>> {
  const rows = await listUsers(core.db, options);
  const presence = await core.presence.lookup(rows.map((r) => r.id));
  return { users: rows.map((r, i) => ({ ...presence[i]!, name: r.name, avatar: r.avatar })) };
}

/** People and their presence (seeds 000 and 001): users the caller shares a room with (global admins: everyone); the caller's stats. */
const users: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get('/api/users', { schema: { querystring: ContactListQuery, response: { 200: ContactList, ...errorResponses } } }, async (request) => {
    const { scope, q, limit, skip } = request.query;
    if (scope === 'all' && !request.caller.isAdmin) throw new ParleyError('ADMIN_REQUIRED', 'Only a global admin may list every user (scope=all)');
    return directory(app.core, { sharingWith: scope === 'all' ? undefined : request.caller.id, q, limit, skip });
  });

  app.post('/api/users/profiles', { schema: { body: ProfileLookupBody, response: { 200: ProfileList, ...errorResponses } } }, async (request) => {
    const rows = await visibleProfiles(app.db, request.caller.id, request.body.user_ids);
    return { users: rows.map((r) => ({ user_id: r.id, name: r.name, avatar: r.avatar })) };
  });

  app.get('/api/users/online', { schema: { response: { 200: OnlineUsers, ...errorResponses } } }, async (request) => {
    const [online, contacts] = await Promise.all([
      app.core.presence.onlineUsers(),
      listUsers(app.db, { sharingWith: request.caller.id, limit: ONLINE_CONTACTS_MAX, skip: 0 }),
    ]);
    const presence = await app.core.presence.lookup(contacts.map((c) => c.id));
    return { online_count: online.length, users: presence.filter((p) => p.state !== 'offline') };
  });

  app.get('/api/chats/:id/online', { schema: { params: ChatParams, response: { 200: RoomOnline, ...errorResponses } } }, async (request) => {
    if (!(await app.core.membership.isMember(request.params.id, request.caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
    const members = await listRoomMembers(app.db, request.params.id, ROOM_ONLINE_MAX, 0);
    const presence = await app.core.presence.lookup(members.map((m) => m.user_id));
    return { users: presence.filter((p) => p.state !== 'offline') };
  });

  app.get('/api/users/me/stats', { schema: { response: { 200: UserStats, ...errorResponses } } }, async (request) => {
    const me = request.caller.id;
    const [counts, unread, online] = await Promise.all([messageCountsOf(app.db, me), unreadCounts(app.core, me), app.core.presence.onlineUsers()]);
    return {
      user_id: me,
      rooms: unread.chats.length,
      messages_sent: counts.sent,
      messages_received: counts.received,
      total_unread: unread.total_unread,
      online_users: online.length,
    };
  });
};
export default users;
