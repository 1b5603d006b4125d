
-- queue_trash_common (shared tail of queue_trash and queue_restore): the
-- server's clock, and the trash's expiry, done a bounded step at a time on
-- every call (no key TTL per entry: the trash lives in the queue's slot).

now_ms = function()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops at most 100 entries whose retention ended before `now`.
purge = function(now)
  local old = redis.call('ZRANGE', KEYS[9], '-inf', now, 'BYSCORE', 'LIMIT', 0, 100)
  for _, id in ipairs(old) do
    redis.call('HDEL', KEYS[8], id)
    redis.call('ZREM', KEYS[9], id)
  end
end

return main()
