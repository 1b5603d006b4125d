-- lock_release: release a lock, only by its owner.
--
-- KEYS[1] lock key   string  value = owner token
-- ARGV[1] owner token
--
-- Returns 1 released, 0 not held by this token (expired, or someone else's).
if ARGV[1] == nil or ARGV[1] == '' then return redis.error_reply('ERR lock_release: empty token') end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
