-- stats_incr: add to a counter field of a stats hash; the hash gets its TTL
-- when it is created (and regains one if something removed it).
--
-- KEYS[1] stats hash (stats:daily:{date} or stats:hourly:{hour})
-- ARGV[1] field   ARGV[2] increment (integer)   ARGV[3] TTL seconds
--
-- Returns the field's new value.
local by, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[1] == nil or ARGV[1] == '' then return redis.error_reply('ERR stats_incr: empty field') end
if by == nil or by % 1 ~= 0 then return redis.error_reply('ERR stats_incr: increment must be an integer') end
if ttl == nil or ttl < 1 then return redis.error_reply('ERR stats_incr: bad ttl') end
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], by)
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ttl) end
return v
