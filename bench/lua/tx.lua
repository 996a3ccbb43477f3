-- Transactions (POST /v1/tx): each wrk thread has one connection (run with
-- -t N -c N) and owns the key KB_KEYPREFIX<thread>. Every transaction checks
-- that key's revision (the one it last saw; 0 = absent at first), then puts
-- the key (a 100-byte value), a document, one vector of KB_DIM floats in
-- collection KB_COLLECTION and a user event: 1 KV check + 4 ops. A check
-- that fails counts in `failed` (with one owner per key it never should).
package.path = os.getenv("KB_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local prefix = os.getenv("KB_KEYPREFIX") or "tx:"
local dim = tonumber(os.getenv("KB_DIM") or "128")
local collection = os.getenv("KB_COLLECTION") or "txvec"
local headers = common.headers()
headers["Content-Type"] = "application/json"

local value = '"' .. string.rep("v", 100) .. '"'
local doc = '{"title":"benchmark document","author":"kbench","year":2024,"text":"' .. string.rep("x", 60) .. '"}'
local key, rev, n = nil, 0, 0
local vectors = {}
failed = 0

init = function(args)
  key = prefix .. (id or 0)
  math.randomseed(1000 + (id or 0))
  for v = 1, (dim > 0 and 16 or 0) do
    local xs = {}
    for d = 1, dim do xs[d] = string.format("%.4f", math.random() * 2 - 1) end
    vectors[v] = "[" .. table.concat(xs, ",") .. "]"
  end
end

-- KB_DIM=0 leaves the vector op out (the row that says what it costs).
local function vector_op(i)
  if dim == 0 then return "" end
  return '{"vector_upsert":{"collection":"' .. collection .. '","id":"' .. key .. '-' .. (i % 1000) ..
         '","vector":' .. vectors[i % 16 + 1] .. '}},'
end

request = function()
  n = n + 1
  local body = '{"checks":[{"state":"' .. key .. '","revision":' .. rev .. '}],"ops":[' ..
               '{"state_put":{"key":"' .. key .. '","value":' .. value .. '}},' ..
               '{"doc_put":{"collection":"txdocs","id":"' .. key .. '-' .. (n % 1000) .. '","doc":' .. doc .. '}},' ..
               vector_op(n) ..
               '{"event_append":{"type":"tx.bench","data":{"n":' .. n .. '}}}]}'
  return wrk.format("POST", "/v1/tx", headers, body)
end

response = function(status, hdrs, body)
  if status == 200 then
    -- The first "revision" of the answer is the state_put's (results[0]).
    rev = tonumber(body:match('"revision":(%d+)')) or rev
  elseif status == 409 then
    failed = failed + 1
    rev = tonumber(body:match('"current":{"revision":(%d+)')) or 0
  end
end
