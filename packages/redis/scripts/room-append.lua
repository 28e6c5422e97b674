-- room-append: authorize, deduplicate, order and publish one room event, atomically.
-- KEY.meta room meta hash       (field seq = head seq; "u:" .. sender = seq of the sender's newest message)
-- KEY.log room log stream      (entry id <seq>-0, field e = event)
-- KEY.idempotency idempotency record   (string "id|seq|created_at", TTL)
-- KEY.members room members set     (cached member ids plus the sentinel "")
-- KEY.stream the partition's event stream (persisters' consumer group; fields r = room, s = seq, e = event)
-- KEY.membersGen room members generation counter
-- KEY.changes room changes hash     (field "edit:<seq>" = a message's latest edit, "delete:<seq>" = its deletion; value "<event seq>|<change JSON>")
-- KEY.incarnation the partition's incarnation (the run_id of the server it was last reconciled on)
-- ARG.sender sender id
-- ARG.eventHead, ARG.eventTail the event is eventHead .. seq .. eventTail (the codec's eventAroundSeq)
-- ARG.id message id (uuid)
-- ARG.createdAt created_at (ISO 8601)
-- ARG.idempotencyTtl idempotency TTL in seconds
-- ARG.channel the room's sharded channel (in the script's slot), where the event is SPUBLISHed
-- ARG.room room id
-- ARG.maxBacklog most entries the event stream may hold before appends are refused
-- ARG.mode mode: "member"  the sender must be a member (every user's message);
--               "system"  no membership check (a system message);
--               "bump"    no membership check, and the cached members are dropped in the same step:
--                         the system message of a membership change committed to Postgres, so that
--                         the change takes effect exactly at this event's place in the room's order
-- ARG.targetSeq for an edit or deletion: the seq of the message it changes, else ""
-- ARG.changeKind for an edit or deletion: "edit" or "delete"
-- ARG.change for an edit or deletion: the change as JSON, which history folds over the message
-- Returns {status, id, seq, created_at}; status is one of
--   OK                 appended as seq
--   DUPLICATE          the client_id was already appended: the original id, seq, created_at
--   MEMBERS_UNCACHED   the members set is not cached: fill it and call again
--   NOT_MEMBER         the sender is not a member of the room
--   BACKLOG_FULL       the event stream holds ARG.maxBacklog entries: the persisters are behind
--   TARGET_DELETED     the message ARG.targetSeq is already deleted: nothing more may change it
--   HEAD_UNKNOWN       the room's head seq is not in Redis (a new room, or Redis lost its data):
--                      set it from Postgres (HSETNX) and call again
--   UNRECONCILED       this server has not been reconciled with Postgres for the room's partition
--                      (a promoted replica, a restart, before redis-recovery.ts has run): its heads
--                      may be behind Postgres, so no seq is handed out; reconcile and call again
local mode = ARG.mode
if mode == 'member' then
  local refusal = membership_refusal(KEY.members, ARG.sender)
  if refusal then
    return {refusal}
  end
end
-- One read for the client_id's record and the partition's incarnation (both are needed on the way).
local found = redis.call('MGET', KEY.idempotency, KEY.incarnation)
local prior, incarnation = found[1], found[2]
if prior then
  local id, seq, created_at = string.match(prior, '^([^|]+)|([^|]+)|(.+)$')
  return {'DUPLICATE', id, tonumber(seq), created_at}
end
local target = ARG.targetSeq
if target ~= '' and redis.call('HEXISTS', KEY.changes, 'delete:' .. target) == 1 then
  return {'TARGET_DELETED'}
end
if redis.call('XLEN', KEY.stream) >= tonumber(ARG.maxBacklog) then
  return {'BACKLOG_FULL'}
end
local head = redis.call('HGET', KEY.meta, 'seq')
if not head then
  return {'HEAD_UNKNOWN'}
end
-- A command retried by the client across a failover can reach the new master before any gateway
-- has raised its heads: the seq it would hand out may be one Postgres already holds.
if incarnation ~= run_id() then
  return {'UNRECONCILED'}
end
if mode == 'bump' then
  redis.call('DEL', KEY.members)
  redis.call('INCR', KEY.membersGen)
end
local seq = tonumber(head) + 1
-- The new head, and what a member sends they have read: their read position counts as at least
-- this (read-state.ts). Kept in the room's own hash, so that the script touches one slot; Postgres
-- gets the position from the persister, which derives it from the message row.
if mode == 'member' then
  redis.call('HSET', KEY.meta, 'seq', seq, 'u:' .. ARG.sender, seq)
else
  redis.call('HSET', KEY.meta, 'seq', seq)
end
local event = ARG.eventHead .. seq .. ARG.eventTail
redis.call('XADD', KEY.log, seq .. '-0', 'e', event)
redis.call('XADD', KEY.stream, '*', 'r', ARG.room, 's', seq, 'e', event)
if target ~= '' then
  redis.call('HSET', KEY.changes, ARG.changeKind .. ':' .. target, seq .. '|' .. ARG.change)
end
redis.call('SET', KEY.idempotency, ARG.id .. '|' .. seq .. '|' .. ARG.createdAt, 'EX', tonumber(ARG.idempotencyTtl))
redis.call('SPUBLISH', ARG.channel, event)
return {'OK', ARG.id, seq, ARG.createdAt}
