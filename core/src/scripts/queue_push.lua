-- queue_push: add a validated item to a queue (idempotent by id).
--
-- KEYS[1] ready    zset  id -> score        KEYS[5] delayed  zset  id -> due ms
-- KEYS[2] items    hash  id -> item JSON     KEYS[6] dead     zset  id -> dead ms
-- KEYS[3] meta     hash  "<id>:p|r|s|e|t|a"    KEYS[7] seq      string "<ms>:<n>"
-- KEYS[4] inflight zset  id -> lease deadline
-- ARGV[1] id   ARGV[2] item JSON (validated by the caller)   ARGV[3] priority 0-100
-- ARGV[4] capacity (ready + delayed + in-flight)   ARGV[5] not-before epoch ms (0 = now)
--
-- Returns {1, score} added, {1, 0, due} scheduled, {0, "exists"} already queued
-- (nothing changed), {-1, "full"} at capacity. Errors name the bad argument.
local id, body = ARGV[1], ARGV[2]
local priority, capacity, not_before = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if id == nil or id == '' then return redis.error_reply('ERR queue_push: empty id') end
if body == nil or body == '' then return redis.error_reply('ERR queue_push: empty item') end
if priority == nil or priority < 0 or priority > 100 or priority % 1 ~= 0 then
  return redis.error_reply('ERR queue_push: priority must be an integer 0-100')
end
if capacity == nil or capacity < 1 then return redis.error_reply('ERR queue_push: bad capacity') end
if not_before == nil or not_before < 0 then return redis.error_reply('ERR queue_push: bad not-before') end
-- The bot calls this script directly: what the runner's reserve would refuse
-- is refused here, before anything is written.
if #id > 128 or string.find(id, '[^%w_%-%.:@]') then
  return redis.error_reply("ERR queue_push: id must be 1-128 of letters, digits, '_', '-', '.', ':', '@'")
end
if #body > 262144 then return redis.error_reply('ERR queue_push: item larger than 256 KiB') end
local ok, item = pcall(cjson.decode, body)
if not ok or type(item) ~= 'table' or string.sub(body, 1, 1) ~= '{' then
  return redis.error_reply('ERR queue_push: the item must be a JSON object')
end
if item['id'] ~= id then return redis.error_reply('ERR queue_push: the item\'s "id" must equal the id argument') end

-- Store the item only if the id is new (one call instead of HEXISTS + HSET);
-- a push over capacity takes it back, so a refused push changes nothing.
if redis.call('HSETNX', KEYS[2], id, body) == 0 then return {0, 'exists'} end
local size = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[4])
if size >= capacity then
  redis.call('HDEL', KEYS[2], id)
  return {-1, 'full'}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[3], id .. ':p', priority)
if not_before > now then
  redis.call('ZADD', KEYS[5], not_before, id)
  return {1, 0, not_before}
end

-- Tie-break sequence: 0 for the first item of a millisecond, up to 15.
local seq = 0
local last = redis.call('GET', KEYS[7])
if last then
  local ms, n = string.match(last, '^(%d+):(%d+)$')
  if tonumber(ms) == now then seq = math.min(tonumber(n) + 1, 15) end
end
redis.call('SET', KEYS[7], now .. ':' .. seq)
-- score = priority·2^46 + (2^42 − 1 − (now − 2024-01-01)) · 16 + (15 − seq): exact below 2^53.
local score = priority * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 + (15 - seq)
redis.call('ZADD', KEYS[1], score, id)
return {1, score}
