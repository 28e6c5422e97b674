-- stream-ack: a persister's entries are in Postgres: acknowledged to the group and deleted from the
-- partition's event stream, in one call (XACK and XDEL, which Redis 7.0 has no single command for).
-- KEY.stream the partition's event stream
-- ARG.group the persisters' consumer group
-- ARGV[ARG_REST..] the entries' ids, acknowledged a thousand at a time (Lua unpacks at most 8,000 values)
-- Returns how many were deleted.
local deleted = 0
local first = ARG_REST
while first <= #ARGV do
  local last = math.min(first + 999, #ARGV)
  redis.call('XACK', KEY.stream, ARG.group, unpack(ARGV, first, last))
  deleted = deleted + redis.call('XDEL', KEY.stream, unpack(ARGV, first, last))
  first = last + 1
end
return deleted
