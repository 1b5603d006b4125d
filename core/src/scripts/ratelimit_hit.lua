-- ratelimit_hit: one attempt against a fixed-window counter. The count and
-- its expiry are set in one step, so a counter never lives without a TTL; a
-- denied attempt is not counted.
--
-- KEYS[1] counter key (one per window, e.g. rate_limit:posting:2026-11-27T18)
-- ARGV[1] limit per window   ARGV[2] TTL seconds of the counter
--
-- Returns {1, count} allowed (count includes this attempt) or {0, count} denied.
local limit, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
if limit == nil or limit < 0 or limit % 1 ~= 0 then return redis.error_reply('ERR ratelimit_hit: bad limit') end
if ttl == nil or ttl < 1 then return redis.error_reply('ERR ratelimit_hit: bad ttl') end
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count == nil then return redis.error_reply('ERR ratelimit_hit: counter is not a number') end
if count >= limit then
  if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ttl) end
  return {0, count}
end
count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ttl) end
return {1, count}
