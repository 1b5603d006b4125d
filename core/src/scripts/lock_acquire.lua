-- lock_acquire: take a lock if free, with an owner token and an expiry, and
-- hand out a fencing number that only grows.
--
-- KEYS[1] lock key   string  value = owner token, PX = lease
-- KEYS[2] fence key  string  counter, +1 per acquisition (never expires)
-- ARGV[1] owner token   ARGV[2] lease ms
--
-- Returns {1, fence} acquired, or {0, ms left on the holder's lease}.
local token, lease = ARGV[1], tonumber(ARGV[2])
if token == nil or token == '' then return redis.error_reply('ERR lock_acquire: empty token') end
if lease == nil or lease < 1 then return redis.error_reply('ERR lock_acquire: bad lease ms') end
if redis.call('SET', KEYS[1], token, 'NX', 'PX', lease) then
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
