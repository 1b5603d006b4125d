-- queue_requeue: move dead-lettered items back to ready with fresh attempts.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] id, or "*" for the oldest dead items   ARGV[2] max items (with "*")
--
-- Returns the number of items requeued. Members without a stored item stay dead.
local which, limit = ARGV[1], tonumber(ARGV[2])
if which == nil or which == '' then return redis.error_reply('ERR queue_requeue: id required') end
if limit == nil or limit < 1 then return redis.error_reply('ERR queue_requeue: bad limit') end
local ids
if which == '*' then ids = redis.call('ZRANGE', KEYS[6], 0, limit - 1) else ids = {which} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = 0
for _, id in ipairs(ids) do
  if redis.call('ZSCORE', KEYS[6], id) and redis.call('HEXISTS', KEYS[2], id) == 1 then
    local p = tonumber(redis.call('HGET', KEYS[3], id .. ':p')) or 0
    redis.call('ZREM', KEYS[6], id)
    redis.call('HDEL', KEYS[3], id .. ':r', id .. ':e', id .. ':s')
    redis.call('ZADD', KEYS[1], p * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 + 15, id)
    n = n + 1
  end
end
return n
