-- wrk script: POST /api/reset/start for a random existing user per request.
-- Arguments (after --): first and last user number; users are bench{n}@bench.test.
-- done() prints machine-readable "BENCH key value" lines for script/bench.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  first = tonumber(args[1]) or 1
  last = tonumber(args[2]) or 10000
  -- Different streams per thread, and per run.
  math.randomseed(os.time() * 100 + id)
  ok, non2xx = 0, 0
  statuses = {}
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  local n = math.random(first, last)
  return wrk.format(nil, "/api/reset/start", nil, '{"identifier":"bench' .. n .. '@bench.test"}')
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  end
end

function done(summary, latency, requests)
  local okc, bad, by = 0, 0, {}
  for _, t in ipairs(threads) do
    okc = okc + t:get("ok")
    bad = bad + t:get("non2xx")
    for s, n in pairs(t:get("statuses")) do by[s] = (by[s] or 0) + n end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("BENCH requests %d\n", summary.requests))
  io.write(string.format("BENCH ok %d\n", okc))
  io.write(string.format("BENCH non2xx %d\n", bad))
  io.write(string.format("BENCH socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("BENCH seconds %.2f\n", secs))
  io.write(string.format("BENCH rps %.1f\n", summary.requests / secs))
  io.write(string.format("BENCH ok_rps %.1f\n", okc / secs))
  io.write(string.format("BENCH p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("BENCH p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("BENCH max_ms %.2f\n", latency.max / 1000))
  local parts = {}
  for s, n in pairs(by) do table.insert(parts, s .. "x" .. n) end
  io.write("BENCH statuses " .. (#parts > 0 and table.concat(parts, ",") or "-") .. "\n")
end
