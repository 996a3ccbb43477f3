-- Compare-and-set loops: each wrk thread has one connection (run with
-- -t N -c N) and owns KB_KEYS keys under KB_KEYPREFIX<thread>:, so the
-- request/response order of a thread is its connection's and the revision
-- it expects is always the one it last saw. Keys start absent (revision 0
-- = "only if absent"). A compare that fails counts in `failed`.
-- KB_TARGET=kissvdb: PUT /v1/state/{key} {"value", "if_revision"}.
-- KB_TARGET=etcd:    POST /v3/kv/txn, compare mod_revision, put on success,
--                    range on failure (to learn the current revision).
package.path = os.getenv("KB_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local target = os.getenv("KB_TARGET") or "kissvdb"
local nkeys = tonumber(os.getenv("KB_KEYS") or "16")
local prefix = os.getenv("KB_KEYPREFIX") or "cas:"
local value = os.getenv("KB_VALUE") or "v"
local b64val = common.base64(value)
local headers = common.headers()
headers["Content-Type"] = "application/json"

local keys, b64keys, rev = {}, {}, {}
local j, pending = 0, nil
failed = 0

init = function(args)
  for k = 1, nkeys do
    keys[k] = prefix .. (id or 0) .. ":" .. k
    b64keys[k] = common.base64(keys[k])
    rev[k] = 0
  end
end

request = function()
  j = j % nkeys + 1
  pending = j
  if target == "etcd" then
    local k = b64keys[j]
    local body = '{"compare":[{"key":"' .. k .. '","result":"EQUAL","target":"MOD","mod_revision":"' .. rev[j] ..
                 '"}],"success":[{"request_put":{"key":"' .. k .. '","value":"' .. b64val ..
                 '"}}],"failure":[{"request_range":{"key":"' .. k .. '"}}]}'
    return wrk.format("POST", "/v3/kv/txn", headers, body)
  end
  local body = '{"value":"' .. value .. '","if_revision":' .. rev[j] .. '}'
  return wrk.format("PUT", "/v1/state/" .. keys[j], headers, body)
end

response = function(status, hdrs, body)
  local k = pending
  if not k then return end
  pending = nil
  if target == "etcd" then
    if status ~= 200 then return end
    if body:find('"succeeded":true', 1, true) then
      rev[k] = tonumber(body:match('"revision":"(%d+)"')) or rev[k]
    else
      failed = failed + 1
      rev[k] = tonumber(body:match('"mod_revision":"(%d+)"')) or 0
    end
    return
  end
  if status == 200 then
    rev[k] = tonumber(body:match('"revision":(%d+)')) or rev[k]
  elseif status == 409 then
    failed = failed + 1
    rev[k] = tonumber(body:match("current revision is (%d+)")) or 0
  end
end
