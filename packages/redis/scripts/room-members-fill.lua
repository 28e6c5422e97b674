-- room-members-fill: cache a room's members read from Postgres, unless membership changed meanwhile.
-- KEY.members room members set
-- KEY.membersGen room members generation counter
-- ARG.generation the generation read before Postgres was queried ("" when the counter did not exist)
-- ARG.ttl TTL of the cache in seconds
-- ARGV[ARG_REST..] member ids
-- Returns 1 when cached, 0 when the generation moved (the caller reads again).
local gen = redis.call('GET', KEY.membersGen) or ''
if gen ~= ARG.generation then
  return 0
end
redis.call('DEL', KEY.members)
-- The sentinel "" keeps the set in existence for a room with no members; no user id is empty.
redis.call('SADD', KEY.members, '')
for i = ARG_REST, #ARGV do
  redis.call('SADD', KEY.members, ARGV[i])
end
redis.call('EXPIRE', KEY.members, tonumber(ARG.ttl))
return 1
