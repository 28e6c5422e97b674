-- room-reconcile: after Redis restarted (from an AOF that may have lost its newest writes, as a
-- machine crash under appendfsync everysec does), fix a room's head against Postgres and mark where
-- this Redis' era of the room begins.
-- KEY.meta room meta hash   (fields seq = head seq, floor = head when this Redis started serving)
-- KEY.log room log stream  (entry id <seq>-0)
-- KEY.incarnation the partition's incarnation (the run_id of the server it was last reconciled on)
-- ARG.persisted the room's highest seq in Postgres (0: none)
-- Returns the head before, or -1 when the room has no head in Redis (it is seeded from Postgres on
-- first use, floor included). A head below Postgres' would give new events seqs Postgres already
-- holds: it is raised, and the log, which now lacks the events between, is dropped (history reads
-- Postgres). Events a client received above `floor` before the restart may be gone: see hello.ts.
-- Once the partition is recorded as reconciled on this server, nothing is changed: every gateway
-- reconciles after a failover, and one that comes after the first has let appends through would
-- otherwise move the floor above seqs handed out again, so its clients would not be told.
local head = redis.call('HGET', KEY.meta, 'seq')
if not head then
  return -1
end
head = tonumber(head)
if redis.call('GET', KEY.incarnation) == run_id() then
  return head
end
local persisted = tonumber(ARG.persisted)
local floor = head
if head < persisted then
  floor = persisted
  redis.call('HSET', KEY.meta, 'seq', persisted)
  redis.call('DEL', KEY.log)
end
redis.call('HSET', KEY.meta, 'floor', floor)
return head
