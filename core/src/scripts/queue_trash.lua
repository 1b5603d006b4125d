-- queue_trash: delete a dead item, undoably. The item, its meta fields and
-- its time of death move to the queue's trash, kept ARGV[2] ms (the
-- dashboard: 24 h), from where queue_restore puts it back as it was.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- KEYS[8] trash (hash id -> entry JSON)  KEYS[9] trash index (zset id -> expiry ms)
-- ARGV[1] id   ARGV[2] retention ms
--
-- Returns {1, expires at ms} deleted, {0, 'not dead'} when the id is not in
-- the dead-letter set (only dead items can be deleted). Expired trash
-- entries are dropped first, at most 100 per call.

local now_ms, purge -- defined by queue_trash_common.lua (the shared tail)

local function main()
  local id, keep = ARGV[1], tonumber(ARGV[2])
  if id == nil or id == '' then return redis.error_reply('ERR queue_trash: id required') end
  if keep == nil or keep < 1 then return redis.error_reply('ERR queue_trash: bad retention') end
  local now = now_ms()
  purge(now)
  local died = redis.call('ZSCORE', KEYS[6], id)
  if not died then return {0, 'not dead'} end
  local item = redis.call('HGET', KEYS[2], id)
  local m = redis.call('HMGET', KEYS[3], id .. ':p', id .. ':r', id .. ':s', id .. ':e', id .. ':a')
  local entry = cjson.encode({
    item = item, died = tonumber(died), deleted = now,
    p = m[1], r = m[2], s = m[3], e = m[4], a = m[5],
  })
  redis.call('HSET', KEYS[8], id, entry)
  redis.call('ZADD', KEYS[9], now + keep, id)
  redis.call('ZREM', KEYS[6], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id .. ':p', id .. ':r', id .. ':s', id .. ':e', id .. ':a', id .. ':t', id .. ':x')
  return {1, now + keep}
end
