-- queue_reap: hand expired leases back. A lease runs out when its worker died
-- (SIGKILL, OOM, a redeploy past its grace): that is not the item's failure,
-- so it is counted apart from failed attempts, as a stall (`<id>:s`). The item
-- comes back after the policy's (unjittered) backoff by stall count; an item
-- that stalled max-stalls times (a poison item crashing its workers) is
-- dead-lettered.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] max stalls   ARGV[2] base delay ms   ARGV[3] delay cap ms
-- ARGV[4] max items per call
--
-- Returns {retried, dead}.
local max_stalls, base, cap, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if max_stalls == nil or max_stalls < 1 or base == nil or base < 0 or cap == nil or cap < 0
  or limit == nil or limit < 1 then
  return redis.error_reply('ERR queue_reap: bad policy arguments')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, limit)
local retried, dead = 0, 0
for _, id in ipairs(expired) do
  local stalls = redis.call('HINCRBY', KEYS[3], id .. ':s', 1)
  redis.call('HSET', KEYS[3], id .. ':e', 'lease expired (worker lost), stall ' .. stalls .. ' of ' .. max_stalls)
  redis.call('HDEL', KEYS[3], id .. ':t')
  redis.call('ZREM', KEYS[4], id)
  if stalls < max_stalls then
    redis.call('ZADD', KEYS[5], now + math.min(cap, base * 2 ^ (stalls - 1)), id)
    retried = retried + 1
  else
    redis.call('ZADD', KEYS[6], now, id)
    dead = dead + 1
  end
end
return {retried, dead}
