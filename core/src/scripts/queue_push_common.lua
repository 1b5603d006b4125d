
-- queue_push_common (shared tail of queue_push and queue_push_many): the
-- checks of one item and its write. The bot calls these scripts directly:
-- what the runner's reserve would refuse is refused here, before anything is
-- written.

-- Why an item cannot be pushed, or nil.
invalid = function(id, body, priority, not_before)
  if id == nil or id == '' then return 'empty id' end
  if body == nil or body == '' then return 'empty item' end
  if priority == nil or priority < 0 or priority > 100 or priority % 1 ~= 0 then
    return 'priority must be an integer 0-100'
  end
  if not_before == nil or not_before < 0 then return 'bad not-before' end
  if #id > 128 or string.find(id, '[^%w_%-%.:@]') then
    return "id must be 1-128 of letters, digits, '_', '-', '.', ':', '@'"
  end
  if #body > 262144 then return 'item larger than 256 KiB' end
  local ok, item = pcall(cjson.decode, body)
  if not ok or type(item) ~= 'table' or string.sub(body, 1, 1) ~= '{' then
    return 'the item must be a JSON object'
  end
  if item['id'] ~= id then return 'the item\'s "id" must equal the id argument' end
  return nil
end

-- What a call reads once: the server's clock, the queue's size, the sequence.
local now, size, seq, seq_used

open = function()
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  size = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[4])
  -- Tie-break sequence: 0 for the first item of a millisecond, up to 15.
  seq = -1
  local last = redis.call('GET', KEYS[7])
  if last then
    local ms, n = string.match(last, '^(%d+):(%d+)$')
    if tonumber(ms) == now then seq = tonumber(n) end
  end
  seq_used = false
end

-- The score of the next ready item of this call: the sequence goes up per
-- item (at most 15 a millisecond; more share the last score).
-- score = priority·2^46 + (2^42 − 1 − (now − 2024-01-01)) · 16 + (15 − seq): exact below 2^53.
local function next_score(priority)
  seq = math.min(seq + 1, 15)
  seq_used = true
  return priority * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 + (15 - seq)
end

add = function(id, body, priority, capacity, not_before)
  -- Store the item only if the id is new (one call instead of HEXISTS + HSET);
  -- a push over capacity takes it back, so a refused push changes nothing.
  if redis.call('HSETNX', KEYS[2], id, body) == 0 then return {0, 'exists'} end
  if size >= capacity then
    redis.call('HDEL', KEYS[2], id)
    return {-1, 'full'}
  end
  size = size + 1
  redis.call('HSET', KEYS[3], id .. ':p', priority)
  if not_before > now then
    redis.call('ZADD', KEYS[5], not_before, id)
    return {1, 0, not_before}
  end
  local score = next_score(priority)
  redis.call('ZADD', KEYS[1], score, id)
  return {1, score}
end

-- The items of ARGV (queue_push_many's layout, already checked), added as
-- `add` would one by one, with one read of the stored items for the whole
-- call and one write per key instead of three calls per item.
add_many = function(n, capacity)
  local ids = {}
  for i = 0, n - 1 do ids[i + 1] = ARGV[2 + i * 4] end
  local stored = redis.call('HMGET', KEYS[2], unpack(ids))
  local seen = {}
  local items, meta, ready, delayed = {}, {}, {}, {}
  local ni, nr, nd = 0, 0, 0
  local out = {}
  for i = 0, n - 1 do
    local b = 2 + i * 4
    local id, priority, not_before = ARGV[b], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
    if stored[i + 1] or seen[id] then
      out[i + 1] = {0, 'exists'}
    elseif size >= capacity then
      out[i + 1] = {-1, 'full'}
    else
      seen[id] = true
      size = size + 1
      items[ni + 1] = id; items[ni + 2] = ARGV[b + 1]
      meta[ni + 1] = id .. ':p'; meta[ni + 2] = priority
      ni = ni + 2
      if not_before > now then
        delayed[nd + 1] = not_before; delayed[nd + 2] = id
        nd = nd + 2
        out[i + 1] = {1, 0, not_before}
      else
        local score = next_score(priority)
        ready[nr + 1] = score; ready[nr + 2] = id
        nr = nr + 2
        out[i + 1] = {1, score}
      end
    end
  end
  if ni > 0 then
    redis.call('HSET', KEYS[2], unpack(items))
    redis.call('HSET', KEYS[3], unpack(meta))
  end
  if nr > 0 then redis.call('ZADD', KEYS[1], unpack(ready)) end
  if nd > 0 then redis.call('ZADD', KEYS[5], unpack(delayed)) end
  return out
end

close = function()
  if seq_used then redis.call('SET', KEYS[7], now .. ':' .. seq) end
end

return main()
