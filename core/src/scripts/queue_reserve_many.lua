-- queue_reserve_many: settle the consumer's finished items (ack, fail or hand
-- back), promote due delayed items, then lease up to N of the best ready
-- items, all in one call: the per-call cost of the script engine is paid once
-- per batch instead of once per item.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] lease ms   ARGV[2] batch token: the k-th item leased gets the token
--         "<batch token>.<k>" (k from 1), its own, as if reserved alone
-- ARGV[3] max items promoted per call   ARGV[4] N, items to lease (0-1000)
-- ARGV[5..] finished items, groups of four: id, its owner token, outcome, error
--         message. Outcome "ack" completes the item, "release" hands it back
--         to ready without counting an attempt (shutdown), an integer >= 0
--         retries it after that many ms and -1 dead-letters it (both count a
--         failed attempt and keep the message, as queue_fail).
--
-- Each finished item is settled on its own, as by queue_ack / queue_fail /
-- queue_release: an item whose lease was lost is refused without touching
-- the others. Arguments are checked before the first write.
--
-- Returns {settled, leased}: settled has one reply per finished item, in
-- order: {1} acked or released, {"retry", due ms, attempts}, {"dead", dead ms,
-- attempts}, {0} not in flight, {-1} in flight under another token. leased is
-- flat, five values per item, best first (highest score; among equal scores
-- the smallest id): id, item JSON, token, lease deadline ms, attempts so far.
-- A member without a stored item is dead-lettered with a reason instead
-- (so a batch may hold fewer than N items while more are ready).
local utf8_prefix, ready_score, fail_item, release_item -- defined by queue_settle.lua (the shared tail)

local function main()
  local lease, batch, max_promote, want = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
  if lease == nil or lease < 1 then return redis.error_reply('ERR queue_reserve_many: bad lease ms') end
  if batch == nil or batch == '' then return redis.error_reply('ERR queue_reserve_many: empty token') end
  if max_promote == nil or max_promote < 0 then return redis.error_reply('ERR queue_reserve_many: bad promote limit') end
  if want == nil or want < 0 or want > 1000 or want % 1 ~= 0 then
    return redis.error_reply('ERR queue_reserve_many: N must be an integer 0-1000')
  end
  local finished = (#ARGV - 4) / 4
  if finished % 1 ~= 0 or finished > 1000 then
    return redis.error_reply('ERR queue_reserve_many: finished items come as groups of id, token, outcome, message (at most 1000)')
  end
  for i = 0, finished - 1 do
    local b = 5 + i * 4
    local outcome = ARGV[b + 2]
    if ARGV[b] == '' or ARGV[b + 1] == '' then
      return redis.error_reply('ERR queue_reserve_many: finished item ' .. (i + 1) .. ': id and token are required')
    end
    if outcome ~= 'ack' and outcome ~= 'release' then
      local delay = tonumber(outcome)
      if delay == nil or delay < -1 or delay % 1 ~= 0 then
        return redis.error_reply('ERR queue_reserve_many: finished item ' .. (i + 1) .. ': outcome must be ack, release, a retry delay in ms or -1')
      end
    end
  end

  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

  -- 1. Settle. The token field exists exactly while an item is in flight, so
  -- one HMGET of the token fields answers every ownership check.
  local settled = {}
  if finished > 0 then
    local fields = {}
    for i = 0, finished - 1 do fields[i + 1] = ARGV[5 + i * 4] .. ':t' end
    local owners = redis.call('HMGET', KEYS[3], unpack(fields))
    -- Acks are removed together below (counters instead of `#t`, which is a
    -- search in Lua 5.1, and no table per item: this loop runs per item).
    local done, meta_gone, nd, nm = {}, {}, 0, 0
    local seen = {}
    for i = 0, finished - 1 do
      local b = 5 + i * 4
      local id, token, outcome = ARGV[b], ARGV[b + 1], ARGV[b + 2]
      if seen[id] or owners[i + 1] == false then
        settled[i + 1] = {0}
      elseif owners[i + 1] ~= token then
        settled[i + 1] = {-1}
      else
        seen[id] = true
        if outcome == 'ack' then
          nd = nd + 1
          done[nd] = id
          meta_gone[nm + 1] = id .. ':p'
          meta_gone[nm + 2] = id .. ':r'
          meta_gone[nm + 3] = id .. ':e'
          meta_gone[nm + 4] = id .. ':t'
          meta_gone[nm + 5] = id .. ':a'
          meta_gone[nm + 6] = id .. ':s'
          meta_gone[nm + 7] = id .. ':x'
          nm = nm + 7
          settled[i + 1] = {1}
        elseif outcome == 'release' then
          release_item(id, now)
          settled[i + 1] = {1}
        else
          settled[i + 1] = fail_item(id, ARGV[b + 3], tonumber(outcome), now)
        end
      end
    end
    if nd > 0 then
      redis.call('ZREM', KEYS[4], unpack(done))
      redis.call('HDEL', KEYS[2], unpack(done))
      redis.call('HDEL', KEYS[3], unpack(meta_gone))
    end
  end

  -- 2. Promote due delayed items (retries, scheduled posts), FIFO by due time.
  if max_promote > 0 then
    local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, max_promote)
    if #due > 0 then
      local fields = {}
      for i, id in ipairs(due) do fields[i] = id .. ':p' end
      local ps = redis.call('HMGET', KEYS[3], unpack(fields))
      local pairs_ = {}
      for i, id in ipairs(due) do
        pairs_[#pairs_ + 1] = ready_score(tonumber(ps[i]) or 0, now)
        pairs_[#pairs_ + 1] = id
      end
      redis.call('ZREM', KEYS[5], unpack(due))
      redis.call('ZADD', KEYS[1], unpack(pairs_))
    end
  end

  -- 3. Lease the best N: by score, highest first; among equal scores the
  -- smallest id (more than 16 pushes in one millisecond share a score).
  local leased = {}
  if want > 0 then
    local top = redis.call('ZRANGE', KEYS[1], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, want, 'WITHSCORES')
    if #top > 0 then
      -- REV lists equal scores by descending id: reverse each run of one
      -- score; the last run may be cut by the limit, so it is read again
      -- from the smallest id up.
      local ids, nids = {}, 0
      local i, ntop = 1, #top
      while i <= ntop do
        local j = i
        while j + 2 <= ntop and top[j + 3] == top[i + 1] do j = j + 2 end
        local count = (j - i) / 2 + 1
        if j + 1 == ntop and ntop == 2 * want then
          local run = redis.call('ZRANGEBYSCORE', KEYS[1], top[i + 1], top[i + 1], 'LIMIT', 0, count)
          for _, id in ipairs(run) do nids = nids + 1; ids[nids] = id end
        else
          for k = j, i, -2 do nids = nids + 1; ids[nids] = top[k] end
        end
        i = j + 2
      end
      redis.call('ZREM', KEYS[1], unpack(ids))
      local bodies = redis.call('HMGET', KEYS[2], unpack(ids))
      local fields = {}
      for k = 1, nids do fields[k] = ids[k] .. ':r' end
      local tries = redis.call('HMGET', KEYS[3], unpack(fields))
      local deadline = now + lease
      local flight, owners, dead, reasons = {}, {}, {}, {}
      local nf, nl, nx = 0, 0, 0
      for n = 1, nids do
        local id = ids[n]
        if bodies[n] then
          local token = batch .. '.' .. (nf / 2 + 1)
          flight[nf + 1] = deadline; flight[nf + 2] = id
          owners[nf + 1] = id .. ':t'; owners[nf + 2] = token
          nf = nf + 2
          leased[nl + 1] = id; leased[nl + 2] = bodies[n]; leased[nl + 3] = token
          leased[nl + 4] = deadline; leased[nl + 5] = tonumber(tries[n]) or 0
          nl = nl + 5
        else
          dead[nx + 1] = now; dead[nx + 2] = id
          reasons[nx + 1] = id .. ':e'
          reasons[nx + 2] = 'no item stored for this id (foreign or corrupt member)'
          nx = nx + 2
        end
      end
      if nf > 0 then
        redis.call('ZADD', KEYS[4], unpack(flight))
        redis.call('HSET', KEYS[3], unpack(owners))
      end
      if nx > 0 then
        redis.call('ZADD', KEYS[6], unpack(dead))
        redis.call('HSET', KEYS[3], unpack(reasons))
      end
    end
  end
  return {settled, leased}
end
