-- room-persisted: after a persister commit, advance the room's persisted watermark and trim its log.
-- KEY.meta room meta hash   (fields seq = head, persisted = watermark)
-- KEY.log room log stream  (entry id <seq>-0)
-- KEY.changes room changes hash (field "<edit|delete>:<message seq>", value "<event seq>|<change JSON>")
-- ARG.persisted seq up to which Postgres now holds every message of the room
-- ARG.logWindow how many of the newest events the log keeps for resume even once persisted
-- Returns the watermark in force (never lower than before).
local persisted = tonumber(ARG.persisted)
local current = tonumber(redis.call('HGET', KEY.meta, 'persisted') or '0')
if persisted > current then
  redis.call('HSET', KEY.meta, 'persisted', persisted)
else
  persisted = current
end
local head = tonumber(redis.call('HGET', KEY.meta, 'seq') or '0')
-- Keep every unpersisted event and the newest ARG.logWindow events; `~` trims whole nodes only, cheaply.
local keep_from = math.min(persisted + 1, head - tonumber(ARG.logWindow) + 1)
if keep_from > 1 then
  redis.call('XTRIM', KEY.log, 'MINID', '~', keep_from .. '-0')
end
-- A change is needed for history while its message is still read from the log, or while Postgres
-- lacks the change itself; past both, Postgres' row holds the message's state.
local first = redis.call('XRANGE', KEY.log, '-', '+', 'COUNT', 1)[1]
local first_seq = first and tonumber(string.match(first[1], '^(%d+)')) or (head + 1)
local changes = redis.call('HGETALL', KEY.changes)
for i = 1, #changes, 2 do
  local event_seq = tonumber(string.match(changes[i + 1], '^(%d+)|'))
  if tonumber(string.match(changes[i], '(%d+)$')) < first_seq and event_seq <= persisted then
    redis.call('HDEL', KEY.changes, changes[i])
  end
end
return persisted
