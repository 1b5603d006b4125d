-- migrate_counter: carry a legacy counter into ours without ever counting
-- twice: the counter becomes max(ours, legacy), so running the migration
-- again (or after new hits) changes nothing it should not.
--
-- KEYS[1] counter (string)
-- ARGV[1] legacy count (integer >= 0)   ARGV[2] window end, epoch ms (the
-- counter's expiry when it is created)
--
-- Returns the counter's value after the call.
local legacy = tonumber(ARGV[1])
local ends = tonumber(ARGV[2])
if legacy == nil or legacy < 0 or legacy % 1 ~= 0 or ends == nil or ends < 1 then
  return redis.error_reply('ERR migrate_counter: ARGV must be a count and a window end')
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if legacy <= current then return current end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[1], legacy, 'KEEPTTL')
else
  redis.call('SET', KEYS[1], legacy, 'PXAT', ends)
end
return legacy
