-- user-positions-fill: cache a user's read and delivered positions read from Postgres.
-- KEY.positions the user's positions hash
-- ARGV[ARG_REST..] pairs: field (room id, or "d" .. room id), seq
-- Returns 1 when filled, 0 when it already was (the sentinel "" is set).
-- A mark reads the sentinel first and fills on a miss (READS_UNCACHED), so no mark is raised into
-- a hash that lacks Postgres' positions. Should one have been raised meanwhile (the hash lost and a
-- mark racing the fill), each field keeps the higher of the two.
if redis.call('HEXISTS', KEY.positions, '') == 1 then
  return 0
end
for i = ARG_REST, #ARGV, 2 do
  local current = redis.call('HGET', KEY.positions, ARGV[i])
  if not current or tonumber(current) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEY.positions, ARGV[i], ARGV[i + 1])
  end
end
redis.call('HSET', KEY.positions, '', '1')
return 1
