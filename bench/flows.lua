-- wrk script: sends each prepared reset flow exactly once.
--
-- Arguments (after --): mode ("verify" or "password"), the pairs file ("<flow token> <code>" per
-- line), the number of wrk threads, a scratch file, and for "password" the new password.
--   verify:   POST /api/reset/verify   {"code":"123456"}  with the flow's cookie
--   password: POST /api/reset/password {"new_password":…,"confirm_password":…} with the cookie
-- Success is 200. done() prints "BENCH key value" lines for script/bench.
--
-- Thread k takes lines k, k+T, k+2T, …, so no flow is sent twice. When a thread's lines run out
-- it waits for its last answers and stops; a connection with nothing left to send meanwhile
-- sends a health check every 200 ms (not counted), since wrk wants a request from every
-- connection. Latency is timed here, for the measured requests only: wrk's own histogram would
-- mix in the health checks. This needs one connection per thread (wrk -tN -cN), so a thread's
-- requests and answers alternate and each answer belongs to the request sent just before it. The rate is counted from the first request to the last answer with a monotonic
-- clock (LuaJIT's ffi), because wrk's own Requests/sec divides by the whole -d duration. The last
-- thread to finish ends the run early: it sends its process SIGINT, which wrk's main thread,
-- asleep for -d, takes as "stop now". Threads learn how many have finished from lines appended
-- to the scratch file.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
  int getpid(void);
  int kill(int pid, int sig);
]]
local ts = ffi.new("bench_timespec[1]")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC: the same clock in every thread
  return tonumber(ts[0].tv_sec) + tonumber(ts[0].tv_nsec) / 1e9
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  local file = args[2]
  nthreads = tonumber(args[3])
  scratch = args[4]
  local password = args[5] or ""
  items = {}
  local i = 0
  for line in io.lines(file) do
    local token, code = line:match("^(%S+)%s+(%S+)")
    if token then
      if i % nthreads == id then table.insert(items, { token, code }) end
      i = i + 1
    end
  end
  nitems = #items
  if mode == "verify" then
    path = "/api/reset/verify"
  else
    path = "/api/reset/password"
    pw_body = '{"new_password":"' .. password .. '","confirm_password":"' .. password .. '"}'
  end
  filler = wrk.format("GET", "/healthz")
  sent, answered, ok, non2xx = 0, 0, 0, 0
  sent_at, measured, latencies = 0, false, {}
  first_at, last_at = 0, 0
  statuses = {}
  ran_out, finished = 0, false
  -- wrk 4 calls request() once on thread 0 right after init, to check the request parses, and
  -- never sends it: that call must not use up a flow. (If it were sent, it is only a health check.)
  dry_run = (id == 0)
end

-- This thread is done; when every thread is, end the whole run now rather than after -d.
local function finish()
  if finished then return end
  finished = true
  wrk.thread:stop()
  local f = io.open(scratch, "a")
  f:write(id, "\n")
  f:close()
  local n = 0
  for _ in io.lines(scratch) do n = n + 1 end
  if n >= nthreads then ffi.C.kill(ffi.C.getpid(), 2) end
end

local function all_answered()
  return sent >= nitems and answered >= sent
end

function delay()
  if sent >= nitems then return 200 end
  return 0
end

function request()
  if dry_run then
    dry_run = false
    return filler
  end
  if sent >= nitems then
    ran_out = 1
    measured = false
    if all_answered() then finish() end
    return filler
  end
  sent = sent + 1
  sent_at, measured = now(), true
  if first_at == 0 then first_at = sent_at end
  local it = items[sent]
  local body = (mode == "verify") and ('{"code":"' .. it[2] .. '"}') or pw_body
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Cookie"] = "portal_reset_flow=" .. it[1],
  }, body)
end

function response(status, headers, body)
  if body and body:find('"alive"', 1, true) then
    if all_answered() then finish() end
    return
  end
  answered = answered + 1
  last_at = now()
  if measured then
    latencies[#latencies + 1] = (last_at - sent_at) * 1000
    measured = false
  end
  if status == 200 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  end
  if all_answered() then finish() end
end

-- The p-th percentile (nearest rank) of the sorted list `xs`, in ms; nil when empty.
local function percentile(xs, p)
  if #xs == 0 then return nil end
  local rank = math.max(1, math.ceil(p / 100 * #xs))
  return xs[rank]
end

function done(summary, latency, requests)
  local okc, bad, total, first, last, flows, out = 0, 0, 0, math.huge, 0, 0, 0
  local by, all = {}, {}
  for _, t in ipairs(threads) do
    okc = okc + t:get("ok")
    bad = bad + t:get("non2xx")
    total = total + t:get("answered")
    flows = flows + t:get("nitems")
    out = out + t:get("ran_out")
    local f, l = t:get("first_at"), t:get("last_at")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    for s, n in pairs(t:get("statuses")) do by[s] = (by[s] or 0) + n end
    for _, ms in ipairs(t:get("latencies")) do all[#all + 1] = ms end
  end
  table.sort(all)
  local secs = (last > first) and (last - first) or (summary.duration / 1e6)
  local e = summary.errors
  io.write(string.format("BENCH flows %d\n", flows))
  io.write(string.format("BENCH answered %d\n", total))
  io.write(string.format("BENCH ok %d\n", okc))
  io.write(string.format("BENCH non2xx %d\n", bad))
  io.write(string.format("BENCH socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("BENCH threads_ran_out %d\n", out))
  io.write(string.format("BENCH seconds %.2f\n", secs))
  io.write(string.format("BENCH ok_rps %.1f\n", okc / secs))
  -- No measured answer: no figure, which script/bench reports as a MISS.
  if #all > 0 then
    io.write(string.format("BENCH timed %d\n", #all))
    io.write(string.format("BENCH p50_ms %.2f\n", percentile(all, 50)))
    io.write(string.format("BENCH p99_ms %.2f\n", percentile(all, 99)))
    io.write(string.format("BENCH max_ms %.2f\n", all[#all]))
  end
  local parts = {}
  for s, n in pairs(by) do table.insert(parts, s .. "x" .. n) end
  io.write("BENCH statuses " .. (#parts > 0 and table.concat(parts, ",") or "-") .. "\n")
end
