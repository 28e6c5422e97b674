-- position-mark: move a member's read (or delivered) position in a room forward, never back, atomically.
-- KEYS[1] the user's positions hash (field = room id for read, "d" .. room id for delivered;
--         sentinel "" once filled from Postgres)
-- KEYS[2] room meta hash (field seq = head seq)
-- KEYS[3] room members set (cached member ids plus the sentinel "")
-- KEYS[4] event stream (the persisters write the position to Postgres: fields k = kind, r, u, s)
-- ARGV[1] user id
-- ARGV[2] room id
-- ARGV[3] the seq read up to; 0 means the head
-- ARGV[4] room channel, where the receipt is published
-- ARGV[5] the receipt frame without its seq and closing brace: the script appends them
-- ARGV[6] most entries the event stream may hold before marks are refused
-- ARGV[7] kind: "read" or "delivered"
-- Returns {status, position, head_seq}; status is one of
--   OK                 moved to the returned position (at most the head)
--   UNCHANGED          already at or past it: the returned position is the current one
--   READS_UNCACHED     the user's positions are not in Redis: fill them from Postgres and call again
--   MEMBERS_UNCACHED   the members set is not cached: fill it and call again
--   NOT_MEMBER         the user is not a member of the room
--   HEAD_UNKNOWN       the room's head seq is not in Redis: set it from Postgres and call again
--   BACKLOG_FULL       the event stream holds ARGV[6] entries: the persisters are behind
if redis.call('HEXISTS', KEYS[1], '') == 0 then
  return {'READS_UNCACHED'}
end
local refusal = membership_refusal(KEYS[3], ARGV[1])
if refusal then
  return {refusal}
end
local head = redis.call('HGET', KEYS[2], 'seq')
if not head then
  return {'HEAD_UNKNOWN'}
end
head = tonumber(head)
local asked = tonumber(ARGV[3])
local target = head
if asked > 0 and asked < head then
  target = asked
end
local kind = ARGV[7]
local field = ARGV[2]
if kind == 'delivered' then
  field = 'd' .. ARGV[2]
end
local current = tonumber(redis.call('HGET', KEYS[1], field) or '0')
if target <= current then
  return {'UNCHANGED', current, head}
end
if redis.call('XLEN', KEYS[4]) >= tonumber(ARGV[6]) then
  return {'BACKLOG_FULL'}
end
redis.call('HSET', KEYS[1], field, target)
redis.call('XADD', KEYS[4], '*', 'k', kind, 'r', ARGV[2], 'u', ARGV[1], 's', target)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. target .. '}')
return {'OK', target, head}
