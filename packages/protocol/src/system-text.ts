import type { SystemEventName, SystemInfo } from './common.js';

/** A system message about a membership change or the room's deletion (not a notice, whose text is its content). */
export type MembershipSystemInfo = SystemInfo & { event: Exclude<SystemEventName, 'notice'> };

/**
 * A system message's text, with people named by `name`: the gateway writes it into `content` with
 * their ids, for clients that do not render `system` themselves; a page renders it again with
 * display names. An act without `actor_id` was the service's.
 */
export function systemText(system: MembershipSystemInfo, name: (userId: string) => string = (userId) => userId): string {
  const who = name(system.user_id ?? '');
  const by = system.actor_id === undefined ? 'The service' : name(system.actor_id);
  switch (system.event) {
    case 'member_joined':
      return `${who} joined`;
    case 'member_added':
      return `${by} added ${who}`;
    case 'member_left':
      return `${who} left`;
    case 'member_removed':
      return `${by} removed ${who}`;
    case 'member_promoted':
      return `${by} made ${who} an admin`;
    case 'member_demoted':
      return `${by} made ${who} a member`;
    case 'room_deleted':
      return `${by} deleted the room`;
  }
}
