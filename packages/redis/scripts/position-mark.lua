-- position-mark: record a member's read (or delivered) position in a room, if it moves forward.
-- Runs in the room's slot; the user's positions hash, in another slot, is read before (the caller
-- passes ARG.current) and raised after (position-raise), so that a retry after a failure between
-- the two records the mark again rather than losing it.
-- KEY.meta room meta hash (field seq = head seq; "u:" .. user = seq of the user's newest message)
-- KEY.members room members set (cached member ids plus the sentinel "")
-- KEY.stream the partition's event stream (the persisters write the position to Postgres: fields k = kind, r, u, s)
-- ARG.user user id
-- ARG.room room id
-- ARG.seq the seq read up to; 0 means the head
-- ARG.current the user's position now, from their positions hash
-- ARG.channel the room's sharded channel (in the script's slot), where the receipt is SPUBLISHed
-- ARG.receiptHead, ARG.receiptTail the receipt is receiptHead .. seq .. receiptTail (the codec's receiptAroundSeq)
-- ARG.maxBacklog most entries the event stream may hold before marks are refused
-- ARG.kind "read" or "delivered"
-- Returns {status, position, head_seq}; status is one of
--   OK                 recorded and published: raise the user's hash to the returned position
--   UNCHANGED          already at or past it (ARG.current, or the user's own newest message, which
--                      they have read): the returned position is the higher of the two
--   MEMBERS_UNCACHED   the members set is not cached: fill it and call again
--   NOT_MEMBER         the user is not a member of the room
--   HEAD_UNKNOWN       the room's head seq is not in Redis: set it from Postgres and call again
--   BACKLOG_FULL       the event stream holds ARG.maxBacklog entries: the persisters are behind
local refusal = membership_refusal(KEY.members, ARG.user)
if refusal then
  return {refusal}
end
local head = redis.call('HGET', KEY.meta, 'seq')
if not head then
  return {'HEAD_UNKNOWN'}
end
head = tonumber(head)
local asked = tonumber(ARG.seq)
local target = head
if asked > 0 and asked < head then
  target = asked
end
local current = math.max(tonumber(ARG.current), tonumber(redis.call('HGET', KEY.meta, 'u:' .. ARG.user) or '0'))
if target <= current then
  return {'UNCHANGED', current, head}
end
if redis.call('XLEN', KEY.stream) >= tonumber(ARG.maxBacklog) then
  return {'BACKLOG_FULL'}
end
redis.call('XADD', KEY.stream, '*', 'k', ARG.kind, 'r', ARG.room, 'u', ARG.user, 's', target)
redis.call('SPUBLISH', ARG.channel, ARG.receiptHead .. target .. ARG.receiptTail)
return {'OK', target, head}
