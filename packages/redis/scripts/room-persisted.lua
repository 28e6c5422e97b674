-- room-persisted: after a persister commit, advance the room's persisted watermark and trim its log.
-- KEYS[1] room meta hash   (fields seq = head, persisted = watermark)
-- KEYS[2] room log stream  (entry id <seq>-0)
-- KEYS[3] room changes hash (field = changed message's seq, value "<event seq>|<state JSON>")
-- ARGV[1] seq up to which Postgres now holds every message of the room
-- ARGV[2] how many of the newest events the log keeps for resume even once persisted
-- Returns the watermark in force (never lower than before).
local persisted = tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'persisted') or '0')
if persisted > current then
  redis.call('HSET', KEYS[1], 'persisted', persisted)
else
  persisted = current
end
local head = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
-- Keep every unpersisted event and the newest ARGV[2] events; `~` trims whole nodes only, cheaply.
local keep_from = math.min(persisted + 1, head - tonumber(ARGV[2]) + 1)
if keep_from > 1 then
  redis.call('XTRIM', KEYS[2], 'MINID', '~', keep_from .. '-0')
end
-- A change is needed for history while its message is still read from the log, or while Postgres
-- lacks the change itself; past both, Postgres' row holds the message's state.
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
local first_seq = first and tonumber(string.match(first[1], '^(%d+)')) or (head + 1)
local changes = redis.call('HGETALL', KEYS[3])
for i = 1, #changes, 2 do
  local event_seq = tonumber(string.match(changes[i + 1], '^(%d+)|'))
  if tonumber(changes[i]) < first_seq and event_seq <= persisted then
    redis.call('HDEL', KEYS[3], changes[i])
  end
end
return persisted
