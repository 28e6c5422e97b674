-- user-positions-fill: cache a user's read and delivered positions read from Postgres, unless cached.
-- KEYS[1] the user's positions hash
-- ARGV pairs: field (room id, or "d" .. room id), seq
-- Returns 1 when filled, 0 when the hash already existed (its positions are newer than Postgres').
-- Marks are refused while the hash is missing (position-mark returns READS_UNCACHED), so no mark
-- can fall between the Postgres read and this fill.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], '', '1')
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
