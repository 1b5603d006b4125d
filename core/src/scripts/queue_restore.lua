-- queue_restore: undo a queue_trash: the item, its meta fields and its time
-- of death back in the dead-letter set, exactly as they were.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- KEYS[8] trash (hash id -> entry JSON)  KEYS[9] trash index (zset id -> expiry ms)
-- ARGV[1] id
--
-- Returns {1} restored, {0, 'not in trash'} (never deleted, or kept past its
-- retention), {0, 'exists'} when an item with this id was pushed since (the
-- trash entry stays; delete or ack that one first).

local now_ms, purge -- defined by queue_trash_common.lua (the shared tail)

local function main()
  local id = ARGV[1]
  if id == nil or id == '' then return redis.error_reply('ERR queue_restore: id required') end
  purge(now_ms())
  local raw = redis.call('HGET', KEYS[8], id)
  if not raw then return {0, 'not in trash'} end
  if redis.call('HEXISTS', KEYS[2], id) == 1 then return {0, 'exists'} end
  local e = cjson.decode(raw)
  if type(e.item) == 'string' then redis.call('HSET', KEYS[2], id, e.item) end
  for _, f in ipairs({'p', 'r', 's', 'e', 'a'}) do
    if type(e[f]) == 'string' then redis.call('HSET', KEYS[3], id .. ':' .. f, e[f]) end
  end
  redis.call('ZADD', KEYS[6], e.died, id)
  redis.call('HDEL', KEYS[8], id)
  redis.call('ZREM', KEYS[9], id)
  return {1}
end
