import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
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
import { contactsOf, listRoomMembers, messageCountsOf, visibleProfiles } from '@parley/db';
import { unreadCounts } from '../rooms/read-state.js';

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

/** Contacts shown to a user: at most this many are looked up for GET /api/users/online. */
const ONLINE_CONTACTS_MAX = 1000;
/** Members of a room looked up for its online list. */
const ROOM_ONLINE_MAX = 1000;

/** People and their presence (seeds 000 and 001): only users the caller shares a room with; the caller's stats. */
const users: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get('/api/users', { schema: { querystring: ContactListQuery, response: { 200: ContactList, ...errorResponses } } }, async (request) => {
    const rows = await contactsOf(app.db, request.caller.id, request.query.limit, request.query.skip);
    const presence = await app.core.presence.lookup(rows.map((r) => r.id));
    return { users: rows.map((r, i) => ({ ...presence[i]!, name: r.name, avatar: r.avatar })) };
  });

  app.post('/api/users/profiles', { schema: { body: ProfileLookupBody, response: { 200: ProfileList, ...errorResponses } } }, async (request) => {
    const rows = await visibleProfiles(app.db, request.caller.id, request.body.user_ids);
    return { users: rows.map((r) => ({ user_id: r.id, name: r.name, avatar: r.avatar })) };
  });

  app.get('/api/users/online', { schema: { response: { 200: OnlineUsers, ...errorResponses } } }, async (request) => {
    const [online, contacts] = await Promise.all([app.core.presence.onlineUsers(), contactsOf(app.db, request.caller.id, ONLINE_CONTACTS_MAX, 0)]);
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
