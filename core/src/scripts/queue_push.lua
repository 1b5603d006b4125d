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
-- The checks and the write are queue_push_common.lua (appended), shared with
-- queue_push_many.
local invalid, open, add, add_many, close -- defined by queue_push_common.lua

local function main()
  local capacity = tonumber(ARGV[4])
  local bad = invalid(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5]))
  if not bad and (capacity == nil or capacity < 1) then bad = 'bad capacity' end
  if bad then return redis.error_reply('ERR queue_push: ' .. bad) end
  open()
  local reply = add(ARGV[1], ARGV[2], tonumber(ARGV[3]), capacity, tonumber(ARGV[5]))
  close()
  return reply
end
