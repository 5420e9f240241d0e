-- wrk script for scripts/soak.sh: POSTs consultas for random accounts among the
-- SOAK_ACCOUNTS that scripts/gen-accounts.py generated (agência 4242, conta 1..N).
local accounts = tonumber(os.getenv("SOAK_ACCOUNTS") or "100000")
local agencia = "4242"

local function dac(digits)
  local total, k = 0, 0
  for i = #digits, 1, -1 do
    local product = tonumber(digits:sub(i, i)) * ((k % 2 == 0) and 2 or 1)
    total = total + math.floor(product / 10) + product % 10
    k = k + 1
  end
  return (10 - total % 10) % 10
end

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
  local conta = string.format("%07d", math.random(1, accounts))
  local codigo = "001341" .. agencia .. conta .. dac(agencia .. conta)
  return wrk.format(nil, nil, nil, '{"codigo_conta":"' .. codigo .. '"}')
end
