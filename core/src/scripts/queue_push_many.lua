-- queue_push_many: add up to 100 validated items to a queue in one call, each
-- idempotent by id. Every item is checked before the first write, so one bad
-- item adds nothing; the clock, the queue's size and the tie-break sequence are
-- read once per call instead of once per item.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] capacity (ready + delayed + in-flight), then per item four values:
-- id, item JSON, priority 0-100, not-before epoch ms (0 = now)
--
-- Returns one reply per item, in order, each as queue_push's: {1, score}
-- added, {1, 0, due} scheduled, {0, "exists"}, {-1, "full"} (an item past
-- the capacity; the items before it are added).
local invalid, open, add, add_many, close -- defined by queue_push_common.lua

local function main()
  local capacity = tonumber(ARGV[1])
  if capacity == nil or capacity < 1 then return redis.error_reply('ERR queue_push_many: bad capacity') end
  local n = (#ARGV - 1) / 4
  if n < 1 or n > 100 or n % 1 ~= 0 then
    return redis.error_reply('ERR queue_push_many: ARGV must be the capacity, then 1-100 groups of id, item, priority, not-before')
  end
  for i = 0, n - 1 do
    local b = 2 + i * 4
    local bad = invalid(ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]))
    if bad then return redis.error_reply('ERR queue_push_many: item ' .. (i + 1) .. ': ' .. bad) end
  end
  open()
  local out = add_many(n, capacity)
  close()
  return out
end
