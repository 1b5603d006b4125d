-- bandit_update: apply one observed reward to an arm's Beta posterior,
-- alpha += r and beta += 1 - r, both in one step (the keys share a hash tag).
--
-- KEYS[1] alpha key   string (float)     KEYS[2] beta key   string (float)
-- ARGV[1] reward r in [0, 1]   ARGV[2] prior alpha   ARGV[3] prior beta
--
-- Returns {alpha, beta} after the update (as strings, full precision).
local r, a0, b0 = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if r == nil or r < 0 or r > 1 then return redis.error_reply('ERR bandit_update: reward must be in [0, 1]') end
if a0 == nil or a0 <= 0 or b0 == nil or b0 <= 0 then return redis.error_reply('ERR bandit_update: bad prior') end
redis.call('SET', KEYS[1], ARGV[2], 'NX')
redis.call('SET', KEYS[2], ARGV[3], 'NX')
local a = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
local b = redis.call('INCRBYFLOAT', KEYS[2], 1 - r)
return {a, b}
