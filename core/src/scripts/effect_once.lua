
-- effect_once (shared tail of every effect_* script): validate, then apply
-- the effect unless its id is already among the target's marks, and record
-- the id in the same atomic step. The marks set lives in the target's slot;
-- each mark is scored by the time it may be forgotten (now + ARGV[2] ms).
local marks, effect_id, keep = KEYS[#KEYS], ARGV[1], tonumber(ARGV[2])
if effect_id == nil or effect_id == '' then return redis.error_reply('ERR effect: empty effect id') end
if keep == nil or keep < 1 then return redis.error_reply('ERR effect: bad marks retention ms') end
local bad = invalid()
if bad then return redis.error_reply(bad) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Forget at most 8 marks whose retention ended (bounded work per call).
local old = redis.call('ZRANGE', marks, '-inf', now, 'BYSCORE', 'LIMIT', 0, 8)
if #old > 0 then redis.call('ZREM', marks, unpack(old)) end
if redis.call('ZSCORE', marks, effect_id) then return {0} end
local result = apply()
redis.call('ZADD', marks, now + keep, effect_id)
if redis.call('PTTL', marks) < keep then redis.call('PEXPIRE', marks, keep) end
return {1, result}
