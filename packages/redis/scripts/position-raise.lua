-- position-raise: move one of a user's positions forward, never back (after position-mark).
-- KEY.positions the user's positions hash
-- ARG.field room id (read) or "d" .. room id (delivered)
-- ARG.seq the position
-- Returns 1 when it moved, 0 when it already was at or past ARG.seq.
local current = tonumber(redis.call('HGET', KEY.positions, ARG.field) or '0')
if tonumber(ARG.seq) <= current then
  return 0
end
redis.call('HSET', KEY.positions, ARG.field, ARG.seq)
return 1
