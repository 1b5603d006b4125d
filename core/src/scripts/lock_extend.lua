-- lock_extend: extend a lock's lease, only by its owner.
--
-- KEYS[1] lock key   string  value = owner token
-- ARGV[1] owner token   ARGV[2] lease ms from now
--
-- Returns 1 extended, 0 not held by this token.
local token, lease = ARGV[1], tonumber(ARGV[2])
if token == nil or token == '' then return redis.error_reply('ERR lock_extend: empty token') end
if lease == nil or lease < 1 then return redis.error_reply('ERR lock_extend: bad lease ms') end
if redis.call('GET', KEYS[1]) == token then
  return redis.call('PEXPIRE', KEYS[1], lease)
end
return 0
