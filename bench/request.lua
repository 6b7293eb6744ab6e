-- One wrk request shape for bench/run, read from the environment so that one
-- script serves every endpoint (GET or POST, a token or a session cookie):
--   BENCH_METHOD   GET (default), POST, DELETE
--   BENCH_PATH     the path; `{id}` is replaced by the next id of BENCH_IDS
--   BENCH_BODY     a form body (sent as application/x-www-form-urlencoded);
--                  `{n}` is replaced by a number unique in the run (sign-ups)
--   BENCH_HEADERS  extra headers, one `Name: value` a line (Authorization,
--                  Cookie)
--   BENCH_IDS      comma-separated ids for `{id}`, shared out between the
--                  threads; a thread that has used its share stops (deletes:
--                  each id once), and done() reports it
--   BENCH_USERS    comma-separated usernames for `{u}` in the body, shared out
--                  between the threads, each thread cycling through its own:
--                  the users service evaluates one login per account and
--                  address at a time, so logins spread over more accounts
--                  than connections
--   BENCH_IDS_FILE a file holding BENCH_IDS instead (a fast machine posts more
--                  ids than an environment variable may hold)
--   BENCH_THREADS  wrk's -t (how the ids and users are shared out)
-- done() prints one line `BENCH_JSON {...}` that bench/run reads.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local method, path, body, headers
local ids, next_id, stride = nil, 1, 1
local n = 0
local users, next_user = nil, 1
exhausted = false
sent = 0

function init(args)
  method = os.getenv("BENCH_METHOD") or "GET"
  path = os.getenv("BENCH_PATH") or "/"
  body = os.getenv("BENCH_BODY")
  headers = {}
  for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
    local k, v = string.match(line, "^([^:]+):%s*(.*)$")
    if k then headers[k] = v end
  end
  if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  local list = os.getenv("BENCH_IDS")
  local file = os.getenv("BENCH_IDS_FILE")
  if file then
    local f = assert(io.open(file, "r"))
    list = f:read("*a")
    f:close()
  end
  if list then
    ids = {}
    for id in string.gmatch(list, "[^,]+") do table.insert(ids, id) end
    stride = tonumber(os.getenv("BENCH_THREADS") or "1")
    next_id = tid + 1
  end
  local names = os.getenv("BENCH_USERS")
  if names then
    local all, s = {}, tonumber(os.getenv("BENCH_THREADS") or "1")
    for u in string.gmatch(names, "[^,]+") do table.insert(all, u) end
    users = {}
    for i = tid + 1, #all, s do table.insert(users, all[i]) end
    if #users == 0 then users = all end
  end
end

function request()
  local p, b = path, body
  if ids then
    if next_id > #ids then
      exhausted = true
      wrk.thread:stop()
      -- stop() ends the thread after this request; send one that cannot
      -- change anything and is not counted as a delete.
      return wrk.format("GET", "/healthz", {})
    end
    p = string.gsub(path, "{id}", ids[next_id])
    next_id = next_id + stride
  end
  if b then
    n = n + 1
    b = string.gsub(b, "{n}", string.format("%d-%d", tid, n))
    if users then
      b = string.gsub(b, "{u}", users[next_user])
      next_user = next_user % #users + 1
    end
  end
  sent = sent + 1
  return wrk.format(method, p, headers, b)
end

function done(summary, latency, requests)
  local any_exhausted = false
  local total_sent = 0
  for _, t in ipairs(threads) do
    if t:get("exhausted") then any_exhausted = true end
    total_sent = total_sent + (t:get("sent") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"exhausted":%s,"sent":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    tostring(any_exhausted), total_sent))
end
