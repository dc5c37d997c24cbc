-- wrk script for bench/run.sh.
--
--   wrk -s bench/wrk.lua URL                 the URL's own request (GET /health/live)
--   wrk -s bench/wrk.lua URL -- PREFIX       the pre-signed requests of bench/requests.py
--
-- With PREFIX, thread k sends the records of the file PREFIX.k in order, each once,
-- and counts the `Supahook-Outcome` header of every answer. A thread that runs out
-- stops and says so, and the row is void: write more requests (a higher --rate).
-- Either way, done() prints one line for bench/run.sh to read, with the exact
-- percentiles (wrk's --latency table stops at the 99th).

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   outcomes = {}
   exhausted = false
   if not args[1] then
      return
   end
   local file = assert(io.open(args[1] .. "." .. id, "rb"))
   local filler = wrk.format("GET", "/health/live")

   -- Defined here, so that a run without PREFIX keeps wrk's cheap static request.
   function request()
      local length = file:read("*l")
      if not length then
         if not exhausted then
            exhausted = true
            wrk.thread:stop()
         end
         return filler
      end
      return file:read(tonumber(length))
   end

   function response(status, headers, body)
      local outcome = headers["supahook-outcome"] or headers["Supahook-Outcome"] or ("HTTP_" .. status)
      outcomes[outcome] = (outcomes[outcome] or 0) + 1
   end
end

function done(summary, latency, requests)
   local outcomes, exhausted = {}, 0
   for _, thread in ipairs(threads) do
      for name, count in pairs(thread:get("outcomes") or {}) do
         outcomes[name] = (outcomes[name] or 0) + count
      end
      if thread:get("exhausted") then
         exhausted = exhausted + 1
      end
   end
   local tally = {}
   for name, count in pairs(outcomes) do
      table.insert(tally, name .. ":" .. count)
   end
   table.sort(tally)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d "
         .. "non2xx=%d socket_errors=%d exhausted_threads=%d outcomes=%s\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency:percentile(99.9), latency.max, e.status, e.connect + e.read + e.write + e.timeout,
      exhausted, table.concat(tally, ",")))
end
