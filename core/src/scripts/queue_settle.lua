
-- queue_settle (shared tail of queue_fail, queue_release and
-- queue_reserve_many): the two transitions of an in-flight item that are not
-- an ack, written once; then runs the script's `main`. The callers check the
-- lease's owner first.

-- The first n bytes of s, shortened to end on a whole UTF-8 character (a cut
-- inside one would store bytes no reader can decode).
utf8_prefix = function(s, n)
  if #s <= n then return s end
  local cut = n
  -- Back over continuation bytes (10xxxxxx) to the last character's lead byte.
  while cut > 0 and string.byte(s, cut + 1) ~= nil and string.byte(s, cut + 1) >= 0x80
    and string.byte(s, cut + 1) < 0xC0 do
    cut = cut - 1
  end
  return string.sub(s, 1, cut)
end

-- The score queue_push gives an item of priority p pushed at `now` (FIFO among
-- equal priorities; see xbot_core::queue::queue_score).
ready_score = function(p, now)
  return p * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 + 15
end

-- A failed attempt: attempts + 1, the message kept (at most 2048 bytes), then
-- delayed by `delay` ms or dead-lettered (-1). Returns queue_fail's reply.
fail_item = function(id, message, delay, now)
  local attempts = redis.call('HINCRBY', KEYS[3], id .. ':r', 1)
  redis.call('HSET', KEYS[3], id .. ':e', utf8_prefix(message, 2048))
  redis.call('HDEL', KEYS[3], id .. ':t')
  redis.call('ZREM', KEYS[4], id)
  if delay >= 0 then
    redis.call('ZADD', KEYS[5], now + delay, id)
    return {'retry', now + delay, attempts}
  end
  redis.call('ZADD', KEYS[6], now, id)
  return {'dead', now, attempts}
end

-- Handed back unprocessed: ready again at its priority, no attempt counted.
release_item = function(id, now)
  local p = tonumber(redis.call('HGET', KEYS[3], id .. ':p')) or 0
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[3], id .. ':t')
  redis.call('ZADD', KEYS[1], ready_score(p, now), id)
end

return main()
