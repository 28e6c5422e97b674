-- room-append: authorize, deduplicate, order and publish one room event, atomically.
-- KEYS[1] room meta hash       (field seq = head seq)
-- KEYS[2] room log stream      (entry id <seq>-0, field e = event)
-- KEYS[3] idempotency record   (string "id|seq|created_at", TTL)
-- KEYS[4] room members set     (cached member ids plus the sentinel "")
-- KEYS[5] event stream         (persisters' consumer group; fields r = room, s = seq, e = event)
-- KEYS[6] room members generation counter
-- KEYS[7] room changes hash     (field = seq of an edited or deleted message, value "<event seq>|<state JSON>")
-- KEYS[8] the sender's positions hash (their read position moves to their own event)
-- ARGV[1] sender id
-- ARGV[2] the event JSON without its opening "{"; the script prepends {"seq":N,
-- ARGV[3] message id (uuid)
-- ARGV[4] created_at (ISO 8601)
-- ARGV[5] idempotency TTL in seconds
-- ARGV[6] room channel to PUBLISH the event on
-- ARGV[7] room id
-- ARGV[8] most entries the event stream may hold before appends are refused
-- ARGV[9] mode: "member"  the sender must be a member (every user's message);
--               "system"  no membership check (a system message);
--               "bump"    no membership check, and the cached members are dropped in the same step:
--                         the system message of a membership change committed to Postgres, so that
--                         the change takes effect exactly at this event's place in the room's order
-- ARGV[10] for an edit or deletion: the seq of the message it changes, else ""
-- ARGV[11] for an edit or deletion: the message's new state (JSON), which history overlays on it
-- Returns {status, id, seq, created_at}; status is one of
--   OK                 appended as seq
--   DUPLICATE          the client_id was already appended: the original id, seq, created_at
--   MEMBERS_UNCACHED   the members set is not cached: fill it and call again
--   NOT_MEMBER         the sender is not a member of the room
--   BACKLOG_FULL       the event stream holds ARGV[8] entries: the persisters are behind
--   TARGET_DELETED     the message ARGV[10] is already deleted: nothing more may change it
--   HEAD_UNKNOWN       the room's head seq is not in Redis (a new room, or Redis lost its data):
--                      set it from Postgres (HSETNX) and call again
local mode = ARGV[9]
if mode == 'member' then
  local refusal = membership_refusal(KEYS[4], ARGV[1])
  if refusal then
    return {refusal}
  end
end
local prior = redis.call('GET', KEYS[3])
if prior then
  local id, seq, created_at = string.match(prior, '^([^|]+)|([^|]+)|(.+)$')
  return {'DUPLICATE', id, tonumber(seq), created_at}
end
local target = ARGV[10]
if target ~= '' then
  local state = redis.call('HGET', KEYS[7], target)
  if state and string.find(state, '"deleted_at"', 1, true) then
    return {'TARGET_DELETED'}
  end
end
if redis.call('XLEN', KEYS[5]) >= tonumber(ARGV[8]) then
  return {'BACKLOG_FULL'}
end
if redis.call('HEXISTS', KEYS[1], 'seq') == 0 then
  return {'HEAD_UNKNOWN'}
end
if mode == 'bump' then
  redis.call('DEL', KEYS[4])
  redis.call('INCR', KEYS[6])
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local event = '{"seq":' .. seq .. ',' .. ARGV[2]
redis.call('XADD', KEYS[2], seq .. '-0', 'e', event)
redis.call('XADD', KEYS[5], '*', 'r', ARGV[7], 's', seq, 'e', event)
-- What a member sends they have read. The seq is the new head, so this never moves a position back;
-- in a hash not yet filled from Postgres the fill keeps it (it takes the higher of the two).
if mode == 'member' then
  redis.call('HSET', KEYS[8], ARGV[7], seq)
end
if target ~= '' then
  redis.call('HSET', KEYS[7], target, seq .. '|' .. ARGV[11])
end
redis.call('SET', KEYS[3], ARGV[3] .. '|' .. seq .. '|' .. ARGV[4], 'EX', tonumber(ARGV[5]))
redis.call('PUBLISH', ARGV[6], event)
return {'OK', ARGV[3], seq, ARGV[4]}
