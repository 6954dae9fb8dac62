-- wrk script for scripts/bench.sh: every request is a question the API's
-- answer cache has not seen (the path and query are the cache key), in the
-- mix a dashboard asks on its first load after a sync: 30 days by day, 12
-- months by month, 3 years by year, a few days of the load curve.
--
-- Environment: METER (an electricity meter id), FIRST and LAST (the first
-- and last stored days, as days since 1970-01-01). Thread `id` numbers its
-- requests i = id + 16 * n (wrk runs at most 16 threads here), so no two
-- requests of a run are the same. KIND (0 to 3, optional) keeps one kind
-- of question only, to see what each costs.
local only = tonumber(os.getenv("KIND") or "")
local meter = os.getenv("METER")
local first = tonumber(os.getenv("FIRST"))
local last = tonumber(os.getenv("LAST"))
local threads, counter = {}, 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  n = 0
end

local function day(d)
  return os.date("!%Y-%m-%d", d * 86400)
end

-- A range of `len + extra` days ending `back` days before LAST, where
-- (back, extra) walks every pair so that each j gives a new range.
local function range(j, len, span)
  span = math.max(1, span) -- a short history (the quick mode's two months)
  local back = j % span
  local extra = math.floor(j / span)
  local to = last - back
  return day(to - len - extra + 1), day(to)
end

function request()
  local i = id + 16 * n
  n = n + 1
  local kind, j = i % 4, math.floor(i / 4)
  if only then kind = only end
  local path
  if kind == 0 then
    local from, to = range(j, 30, last - first - 400)
    path = "/api/v1/readings?meter=" .. meter .. "&granularity=day&from=" .. from .. "&to=" .. to
  elseif kind == 1 then
    local from, to = range(j, 365, last - first - 500)
    path = "/api/v1/readings?meter=" .. meter .. "&granularity=month&from=" .. from .. "&to=" .. to
  elseif kind == 2 then
    -- 1 to 30 days (the route's limit is 31), ending on any of 1000 days.
    local back, len = j % 1000, 1 + math.floor(j / 1000) % 30
    local from, to = day(last - back - len + 1), day(last - back)
    path = "/api/v1/curve?meter=" .. meter .. "&from=" .. from .. "&to=" .. to
  else
    local from, to = range(j, 700, 60)
    path = "/api/v1/readings?meter=" .. meter .. "&granularity=year&from=" .. from .. "&to=" .. to
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if headers["x-cache"] == "hit" then hits = (hits or 0) + 1 end
  if status ~= 200 then bad = (bad or 0) + 1 end
end

-- Proof that the run measured what it says: no cache hit, no error.
function done(summary, latency, requests)
  local h, b = 0, 0
  for _, t in ipairs(threads) do
    h = h + (t:get("hits") or 0)
    b = b + (t:get("bad") or 0)
  end
  io.write(string.format("MISSES cache hits %d, non-200 %d, of %d requests\n", h, b, summary.requests))
end
