-- queue_promote: move due delayed items (retries, scheduled posts) to ready.
-- queue_reserve does this too; the worker calls it for queues it does not
-- consume (pending_posts, posted by the bot), so their scheduled items show up.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] max items per call
--
-- Returns the number of items promoted.
local limit = tonumber(ARGV[1])
if limit == nil or limit < 1 then return redis.error_reply('ERR queue_promote: bad limit') end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  local p = tonumber(redis.call('HGET', KEYS[3], id .. ':p')) or 0
  redis.call('ZREM', KEYS[5], id)
  redis.call('ZADD', KEYS[1], p * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 + 15, id)
end
return #due
