-- One consumer scan in one round trip: count it, decide "first check" and
-- "suspect" atomically, and append the scan record to the stream.
-- KEYS: 1 ready marker, 2 the code's state hash, 3 the scan stream, 4 the resync marker
-- ARGV: 1 counted ('1' or '0'), 2 now (ms), 3 lat, 4 lng ('' when unknown),
--       5 the scan record (JSON, see scans.ScanRecord.payload); for a counted scan
--       6 '1' when its code's direct scans are already added (resync or not, count
--       it), and for a scan that is not counted 6 its verdict and 7 its reason
-- The thresholds (__MAX_SCANS__ checks, __MAX_KMH__ km/h, __MIN_KM__ km) are
-- written into this text when it is loaded: fewer arguments per call.
-- Returns {count, first (1/0), first check ms, suspect reason, first place, entry id},
-- or {-1} when Redis holds no trustworthy state (emptied or new), {-2} while scans
-- written straight to the database are not yet in Redis's counts (resync): the
-- caller then adds this code's and calls again with ARGV[6] = '1'.
if ARGV[1] == '0' then
  local id = redis.call('XADD', KEYS[3], '*', 'v', ARGV[6], 'r', ARGV[7], 'd', ARGV[5])
  return {0, 0, '', '', '', id}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
if ARGV[6] ~= '1' and redis.call('EXISTS', KEYS[4]) == 1 then
  return {-2}
end
local key = KEYS[2]
local now = tonumber(ARGV[2])
local n = redis.call('HINCRBY', key, 'n', 1)
local first = redis.call('HSETNX', key, 't', ARGV[2])
local reason = redis.call('HGET', key, 's') or ''
if ARGV[3] ~= '' then
  if first == 1 then
    redis.call('HSET', key, 'fa', ARGV[3], 'fo', ARGV[4])
  end
  local last = redis.call('HMGET', key, 'la', 'lo', 'lt')
  if reason == '' and last[1] then
    local rad = math.pi / 180
    local lat1, lng1 = tonumber(last[1]) * rad, tonumber(last[2]) * rad
    local lat2, lng2 = tonumber(ARGV[3]) * rad, tonumber(ARGV[4]) * rad
    local h = math.sin((lat2 - lat1) / 2) ^ 2
      + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ^ 2
    local km = 2 * 6371.0088 * math.asin(math.min(1, math.sqrt(h)))
    local hours = math.max(0, now - tonumber(last[3])) / 3600000
    if km >= __MIN_KM__ and km > __MAX_KMH__ * hours then
      reason = 'far_apart'
    end
  end
  redis.call('HSET', key, 'la', ARGV[3], 'lo', ARGV[4], 'lt', ARGV[2])
end
if reason == '' and n > __MAX_SCANS__ then
  reason = 'too_often'
end
local verdict = 'genuine_checked_before'
if reason ~= '' then
  redis.call('HSET', key, 's', reason)
  verdict = 'suspect'
elseif first == 1 then
  verdict = 'genuine_first_check'
end
local id = redis.call('XADD', KEYS[3], '*', 'v', verdict, 'r', reason, 'd', ARGV[5])
return {n, first, redis.call('HGET', key, 't'), reason, redis.call('HGET', key, 'fp') or '', id}
