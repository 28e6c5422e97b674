-- Shared by the library's functions (scripts.ts). Why a member may not act in a room, or nil if they may:
-- MEMBERS_UNCACHED when the room's member set is not cached (fill it and call again), NOT_MEMBER
-- when the user is not in it. One call answers both: the sentinel "" is in the set exactly when
-- the set is cached.
local function membership_refusal(members_key, user)
  local membership = redis.call('SMISMEMBER', members_key, '', user)
  if membership[1] == 0 then
    return 'MEMBERS_UNCACHED'
  end
  if membership[2] == 0 then
    return 'NOT_MEMBER'
  end
  return nil
end

