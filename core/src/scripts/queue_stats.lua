-- queue_stats: counts and the age of the oldest ready item (read-only).
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
--
-- Returns {ready, in-flight, delayed, dead, oldest ready enqueue ms or -1, now ms}.
-- The oldest item of each priority band is the band's highest score, so the
-- oldest overall takes one O(log N) lookup per band (101 at most).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local band = 70368744177664 -- 2^46
local oldest = -1
for p = 0, 100 do
  local top = redis.call('ZRANGE', KEYS[1], '(' .. string.format('%.0f', (p + 1) * band), string.format('%.0f', p * band),
    'BYSCORE', 'REV', 'LIMIT', 0, 1, 'WITHSCORES')
  if #top > 0 then
    local s = tonumber(top[2])
    local enqueued = 1704067200000 + 4398046511103 - (math.floor(s / 16) % 4398046511104)
    if oldest < 0 or enqueued < oldest then oldest = enqueued end
  end
end
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[4]), redis.call('ZCARD', KEYS[5]),
  redis.call('ZCARD', KEYS[6]), oldest, now}
