-- room-members-bump: after a membership change is committed to Postgres, drop the cached members.
-- KEYS[1] room members set
-- KEYS[2] room members generation counter
-- Returns the new generation.
redis.call('DEL', KEYS[1])
return redis.call('INCR', KEYS[2])
