-- recent_push: add to a capped recent list (newest first) and refresh its TTL.
--
-- KEYS[1] list key (tweets:recent)
-- ARGV[1] value   ARGV[2] max length   ARGV[3] TTL seconds
--
-- Returns the list length after trimming.
local max, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[1] == nil then return redis.error_reply('ERR recent_push: value required') end
if max == nil or max < 1 then return redis.error_reply('ERR recent_push: bad max length') end
if ttl == nil or ttl < 1 then return redis.error_reply('ERR recent_push: bad ttl') end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, max - 1)
redis.call('EXPIRE', KEYS[1], ttl)
return redis.call('LLEN', KEYS[1])
