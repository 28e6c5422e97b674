-- user-reads-fill: cache a user's read positions read from Postgres, unless already cached.
-- KEYS[1] the user's read positions hash
-- ARGV pairs: room id, last read seq
-- Returns 1 when filled, 0 when the hash already existed (its positions are newer than Postgres').
-- Read marks are refused while the hash is missing (read-mark returns READS_UNCACHED), so no mark
-- can fall between the Postgres read and this fill.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], '', '1')
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
