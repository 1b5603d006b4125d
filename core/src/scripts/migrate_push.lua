-- migrate_push: copy up to 1,000 legacy queue members into a queue, each exactly
-- once across runs: the queue's migration ledger and the item are written in
-- the same call, so a migration killed at any point and run again neither
-- loses nor repeats an item (even one the worker already consumed).
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- KEYS[8] ledger hash  item id -> epoch ms it was migrated
-- ARGV[1] capacity (ready + delayed + in-flight), then per item four values:
-- id, item JSON, priority 0-100, score (queue_push's formula with the legacy
-- creation time as the enqueue time and the caller's tie-break, computed by
-- the core: FIFO order among migrated items; its priority part must match)
--
-- Returns one reply per item: 1 added, 0 migrated before (in the ledger, or
-- earlier in this batch), 2 an item with this id is already queued (recorded,
-- nothing changed),
-- -1 full (not recorded: a later run adds it once there is room).

-- The items come from `xbot-redis migrate` (built by the core, never by
-- hand); they are still checked before the first write, cheaply: the id is a
-- token, and the item is a JSON object that starts with that id (the core's
-- envelope, `{"id":"<id>",...}`), within the size limit.
local function invalid(id, body, priority, score)
  if id == nil or id == '' or #id > 128 or string.find(id, '[^%w_%-%.:@]') then
    return "id must be 1-128 of letters, digits, '_', '-', '.', ':', '@'"
  end
  if body == nil or #body > 262144 or string.sub(body, -1) ~= '}'
    or string.sub(body, 1, #id + 9) ~= '{"id":"' .. id .. '",' then
    return 'the item must be a JSON object starting with its id (at most 256 KiB)'
  end
  if priority == nil or priority < 0 or priority > 100 or priority % 1 ~= 0 then
    return 'priority must be an integer 0-100'
  end
  if score == nil or score < 0 or score >= 9007199254740992 or score % 1 ~= 0
    or math.floor(score / 70368744177664) ~= priority then
    return 'the score must be an integer below 2^53 whose priority part is the priority'
  end
  return nil
end

local function main()
  local capacity = tonumber(ARGV[1])
  if capacity == nil or capacity < 1 then return redis.error_reply('ERR migrate_push: bad capacity') end
  local n = (#ARGV - 1) / 4
  if n < 1 or n > 1000 or n % 1 ~= 0 then
    return redis.error_reply('ERR migrate_push: ARGV must be the capacity, then 1-1000 groups of id, item, priority, score')
  end
  for i = 0, n - 1 do
    local b = 2 + i * 4
    local bad = invalid(ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]))
    if bad then return redis.error_reply('ERR migrate_push: item ' .. (i + 1) .. ': ' .. bad) end
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local size = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[4])
  -- One read of the ledger and one of the items for the whole batch, then one
  -- write per key: a handful of commands per call instead of four per item.
  local ids = {}
  for i = 0, n - 1 do ids[i + 1] = ARGV[2 + i * 4] end
  local migrated = redis.call('HMGET', KEYS[8], unpack(ids))
  local queued = redis.call('HMGET', KEYS[2], unpack(ids))
  local seen = {}
  local ledger, items, meta, ready = {}, {}, {}, {}
  local out = {}
  for i = 0, n - 1 do
    local b = 2 + i * 4
    local id = ARGV[b]
    if migrated[i + 1] or seen[id] then
      out[i + 1] = 0
    elseif queued[i + 1] then
      -- Already queued under this id: recorded, nothing changed.
      seen[id] = true
      ledger[#ledger + 1] = id; ledger[#ledger + 1] = now
      out[i + 1] = 2
    elseif size >= capacity then
      -- Full: not recorded, so a later run adds it once there is room.
      out[i + 1] = -1
    else
      seen[id] = true
      size = size + 1
      ledger[#ledger + 1] = id; ledger[#ledger + 1] = now
      items[#items + 1] = id; items[#items + 1] = ARGV[b + 1]
      meta[#meta + 1] = id .. ':p'; meta[#meta + 1] = ARGV[b + 2]
      ready[#ready + 1] = ARGV[b + 3]; ready[#ready + 1] = id
      out[i + 1] = 1
    end
  end
  if #ledger > 0 then redis.call('HSET', KEYS[8], unpack(ledger)) end
  if #items > 0 then
    redis.call('HSET', KEYS[2], unpack(items))
    redis.call('HSET', KEYS[3], unpack(meta))
    redis.call('ZADD', KEYS[1], unpack(ready))
  end
  return out
end

return main()
