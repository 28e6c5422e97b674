-- room-members-fill: cache a room's members read from Postgres, unless membership changed meanwhile.
-- KEYS[1] room members set
-- KEYS[2] room members generation counter
-- ARGV[1] the generation read before Postgres was queried ("" when the counter did not exist)
-- ARGV[2] TTL of the cache in seconds
-- ARGV[3..] member ids
-- Returns 1 when cached, 0 when the generation moved (the caller reads again).
local gen = redis.call('GET', KEYS[2]) or ''
if gen ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
-- The sentinel "" keeps the set in existence for a room with no members; no user id is empty.
redis.call('SADD', KEYS[1], '')
for i = 3, #ARGV do
  redis.call('SADD', KEYS[1], ARGV[i])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
