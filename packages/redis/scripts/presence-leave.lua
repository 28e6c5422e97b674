-- presence-leave: the user is no longer online on this gateway (away on it, or no socket left here):
-- records that, and returns the user's presence over every live gateway, in one step
-- (readPresence's aggregate: online if any live gateway has them online, else away if any has
-- them away, else offline, with when they were last seen).
-- KEY.node this gateway's presence hash (user -> online | away)
-- KEY.lastSeen user -> when last seen (ms)
-- KEY.nodes gateway id -> its last heartbeat (ms)
-- KEYS[KEY_REST..] the other gateways' presence hashes the caller knows of, their ids in ARGV[ARG_REST..], in the same order
-- ARG.user the user
-- ARG.self this gateway's id
-- ARG.state 'away' (away here) or 'gone' (no socket left here)
-- ARG.now the time (ms)
-- ARG.liveSince a gateway whose heartbeat is this late or later (ms) is live
-- Returns {'OK', state, last seen (ms, '' if unknown or online)}, or {'NODES', id...}: the live
-- gateways, when one of them was not given (it started since the caller last looked): nothing was
-- read, the caller calls again with its hash.
local user = ARG.user
local given = {}
for i = KEY_REST, #KEYS do
  given[ARGV[ARG_REST + i - KEY_REST]] = KEYS[i]
end
local live = redis.call('ZRANGEBYSCORE', KEY.nodes, ARG.liveSince, '+inf')
for _, node in ipairs(live) do
  if node ~= ARG.self and not given[node] then
    return {'NODES', unpack(live)}
  end
end
if ARG.state == 'away' then
  redis.call('HSET', KEY.node, user, 'away')
else
  redis.call('HDEL', KEY.node, user)
  redis.call('HSET', KEY.lastSeen, user, ARG.now)
end
local state = 'offline'
for _, node in ipairs(live) do
  local here = node == ARG.self and KEY.node or given[node]
  local s = redis.call('HGET', here, user)
  if s == 'online' then
    return {'OK', 'online', ''}
  elseif s == 'away' then
    state = 'away'
  end
end
return {'OK', state, redis.call('HGET', KEY.lastSeen, user) or ''}
