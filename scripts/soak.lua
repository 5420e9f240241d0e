-- wrk script for scripts/soak.sh: POSTs consultas for random accounts among those in
-- SOAK_CODES, the file `cargo xtask gen N --codes-only` wrote (one 18-digit code a
-- line, all stored): this script computes no DAC.
local path = assert(os.getenv("SOAK_CODES"), "set SOAK_CODES to a file of account codes")
local codes = {}
for line in io.lines(path) do
  if #line > 0 then codes[#codes + 1] = line end
end
assert(#codes > 0, path .. " holds no account codes")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["userName"] = os.getenv("ITAU_CODIGO_USERNAME")
wrk.headers["password"] = os.getenv("ITAU_CODIGO_PASSWORD")

local seeded = 0
function setup(thread)
  seeded = seeded + 1
  thread:set("seed", seeded)
end

function init(args)
  math.randomseed(42 + (seed or 0))
end

function request()
  local codigo = codes[math.random(1, #codes)]
  return wrk.format(nil, nil, nil, '{"codigo_conta":"' .. codigo .. '"}')
end
