-- queue_reserve: promote due delayed items, then atomically move the best
-- ready item to in-flight under a lease owned by a token. Optionally acks the
-- consumer's previous item first (ARGV[4], ARGV[5]), so a busy consumer needs
-- one round trip per item instead of two (as queue_ack, then as below).
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] lease ms   ARGV[2] owner token   ARGV[3] max items promoted per call
-- ARGV[4] optional: id to ack first   ARGV[5] its owner token
--
-- An ack that is refused is an error before any write: "ERR queue_reserve:
-- ack refused: not in flight" or "...: owned by another token".
--
-- Returns nil when nothing is ready, else {id, item JSON, token, lease
-- deadline ms, attempts so far}. Best = highest score; among equal scores the
-- lexicographically smallest id. A member without a stored item is moved to
-- the dead-letter set with a reason instead of blocking the queue (at most 16
-- per call, so the script stays bounded).
local lease, token, max_promote = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if lease == nil or lease < 1 then return redis.error_reply('ERR queue_reserve: bad lease ms') end
if token == nil or token == '' then return redis.error_reply('ERR queue_reserve: empty token') end
if max_promote == nil or max_promote < 0 then return redis.error_reply('ERR queue_reserve: bad promote limit') end
local ack_id, ack_token = ARGV[4], ARGV[5]
if ack_id ~= nil and ack_id ~= '' then
  if ack_token == nil or ack_token == '' then return redis.error_reply('ERR queue_reserve: ack needs a token') end
  -- As queue_ack: the token field exists exactly while the item is in flight.
  local owner = redis.call('HGET', KEYS[3], ack_id .. ':t')
  if owner == false then
    return redis.error_reply('ERR queue_reserve: ack refused: not in flight')
  end
  if owner ~= ack_token then
    return redis.error_reply('ERR queue_reserve: ack refused: owned by another token')
  end
  redis.call('ZREM', KEYS[4], ack_id)
  redis.call('HDEL', KEYS[2], ack_id)
  redis.call('HDEL', KEYS[3], ack_id .. ':p', ack_id .. ':r', ack_id .. ':e', ack_id .. ':t', ack_id .. ':a', ack_id .. ':s', ack_id .. ':x')
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Promote due delayed items (retries, scheduled posts), FIFO by due time.
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, max_promote)
for _, id in ipairs(due) do
  local p = tonumber(redis.call('HGET', KEYS[3], id .. ':p')) or 0
  local score = p * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 + 15
  redis.call('ZREM', KEYS[5], id)
  redis.call('ZADD', KEYS[1], score, id)
end

for _ = 1, 16 do
  -- The best two: when their scores differ the first is the one; on a tie
  -- (more than 16 pushes in one millisecond) take the smallest id of that score.
  local top = redis.call('ZRANGE', KEYS[1], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 2, 'WITHSCORES')
  if #top == 0 then return nil end
  local id = top[1]
  if top[4] == top[2] then
    id = redis.call('ZRANGEBYSCORE', KEYS[1], top[2], top[2], 'LIMIT', 0, 1)[1]
  end
  redis.call('ZREM', KEYS[1], id)
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    local deadline = now + lease
    redis.call('ZADD', KEYS[4], deadline, id)
    redis.call('HSET', KEYS[3], id .. ':t', token)
    local attempts = tonumber(redis.call('HGET', KEYS[3], id .. ':r')) or 0
    return {id, body, token, deadline, attempts}
  end
  redis.call('ZADD', KEYS[6], now, id)
  redis.call('HSET', KEYS[3], id .. ':e', 'no item stored for this id (foreign or corrupt member)')
end
return nil
