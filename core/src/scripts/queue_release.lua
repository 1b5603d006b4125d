-- queue_release: hand an in-flight item back to ready without counting an
-- attempt (a worker shutting down gracefully); only the lease owner may.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] id   ARGV[2] owner token
--
-- Returns 1 released, 0 not in flight, -1 in flight under another token.
local id, token = ARGV[1], ARGV[2]
if id == nil or id == '' or token == nil or token == '' then
  return redis.error_reply('ERR queue_release: id and token are required')
end
if redis.call('ZSCORE', KEYS[4], id) == false then return 0 end
if redis.call('HGET', KEYS[3], id .. ':t') ~= token then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local p = tonumber(redis.call('HGET', KEYS[3], id .. ':p')) or 0
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[3], id .. ':t')
redis.call('ZADD', KEYS[1], p * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 + 15, id)
return 1
