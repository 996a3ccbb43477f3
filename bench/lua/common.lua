-- Shared by the bench's wrk scripts: thread bookkeeping, a base64 encoder
-- (etcd's JSON gateway takes base64 keys and values) and a done() that
-- prints one machine-readable line for bench/kbench:
--   KBENCH {"requests": ..., "seconds": ..., "p50_us": ..., "p99_us": ...,
--           "errors": ..., "non2xx": ..., "failed": ...}
-- "failed" sums the per-thread counter `failed` that a script may keep
-- (e.g. CAS compares that did not hold).
local M = {}

local threads = {}
local next_id = 0

function M.setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1) .. b64chars:sub(c2 + 1, c2 + 1) ..
                    (b and b64chars:sub(c3 + 1, c3 + 1) or "=") .. (c and b64chars:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

function M.headers()
  local h = {}
  local token = os.getenv("KB_TOKEN")
  if token and token ~= "" then h["Authorization"] = "Bearer " .. token end
  return h
end

function M.done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + (tonumber(t:get("failed")) or 0) end
  local e = summary.errors
  io.write(string.format(
    'KBENCH {"requests": %d, "seconds": %.6f, "p50_us": %d, "p99_us": %d, "errors": %d, "non2xx": %d, "failed": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, failed))
end

return M
