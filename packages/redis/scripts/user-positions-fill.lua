-- user-positions-fill: cache a user's read and delivered positions read from Postgres.
-- KEYS[1] the user's positions hash
-- ARGV pairs: field (room id, or "d" .. room id), seq
-- Returns 1 when filled, 0 when it already was (the sentinel "" is set).
-- Marks are refused until the hash is filled (position-mark returns READS_UNCACHED), so no mark can
-- fall between the Postgres read and this fill. Positions the append script recorded meanwhile (a
-- sender's own messages) may be newer than Postgres': each field keeps the higher of the two.
if redis.call('HEXISTS', KEYS[1], '') == 1 then
  return 0
end
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if not current or tonumber(current) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('HSET', KEYS[1], '', '1')
return 1
