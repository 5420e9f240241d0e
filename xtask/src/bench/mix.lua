-- The request mix of `cargo xtask bench`, for wrk 4 (LuaJIT).
--
-- wrk ... -s mix.lua URL -- ACCOUNTS USERNAME PASSWORD SEED CODES
--
-- Every request is authenticated. Of 100 requests, 85 ask for an account drawn at
-- random across the whole store, 10 for a valid code that is not stored, 5 for a
-- stored account with a wrong DAC. CODES is the file xtask/src/bench/dados.rs wrote
-- (`dados_sinteticos::write_codes`): the codes of accounts 0..2*ACCOUNTS, 19 bytes a
-- line; the first ACCOUNTS are stored, the others never are. This script computes no
-- DAC: a wrong one is a stored code with its last digit moved by 1 to 9.
--
-- The correlation ID carries the kind of request (bench-f-, bench-u-, bench-d-).
-- With BENCH_CHECK=1 in the environment, `response` compares every status with the
-- one its kind must get (200, 404, 400); without it, wrk parses no response bodies,
-- so that checking costs the generator nothing in a measured run.

local PATH = "/apiaccess/rest/ccmessaging/v1/itau/codigo"
local FOUND, UNKNOWN = 0.85, 0.95 -- cumulative shares: found, then unknown, then wrong DAC

local accounts, head
local sent = { f = 0, u = 0, d = 0 }
local checked = { f = 0, u = 0, d = 0 }
-- Globals, so that `done` can read them from each thread with `thread:get`.
wrong, unlabelled, first_wrong = 0, 0, ""

local LINE = 19 -- 18 digits and a newline
local codes

local function code_of(index)
   local at = index * LINE + 1
   return string.sub(codes, at, at + LINE - 2)
end

function setup(thread)
   threads = threads or {}
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function init(args)
   accounts = tonumber(args[1])
   local seed = tonumber(args[4] or "1")
   math.randomseed(seed * 1000 + (thread_number or 0))
   local file = assert(io.open(args[5], "rb"))
   codes = file:read("*a")
   file:close()
   assert(#codes == 2 * accounts * LINE, args[5] .. " does not hold 2 * ACCOUNTS codes")
   local host = wrk.host .. ":" .. wrk.port
   head = "POST " .. PATH .. " HTTP/1.1\r\n"
      .. "Host: " .. host .. "\r\n"
      .. "userName: " .. args[2] .. "\r\n"
      .. "password: " .. args[3] .. "\r\n"
      .. "Content-Type: application/json\r\n"
      .. "x-itau-flowID: bench\r\n"
      .. "x-itau-correlationID: bench-"
end

local counter = 0

function request()
   local draw = math.random()
   local kind, index
   if draw < FOUND then
      kind, index = "f", math.random(0, accounts - 1)
   elseif draw < UNKNOWN then
      kind, index = "u", accounts + math.random(0, accounts - 1)
   else
      kind, index = "d", math.random(0, accounts - 1)
   end
   local codigo = code_of(index)
   if kind == "d" then
      local digit = (tonumber(string.sub(codigo, 18)) + 1 + math.random(0, 8)) % 10
      codigo = string.sub(codigo, 1, 17) .. digit
   end
   -- Half of the chats ask for the relationship manager (AP), half for the first one.
   local selector = ""
   if math.random() < 0.5 then selector = ',"tipo_estrutura":"AP"' end
   local body = string.format('{"codigo_conta":"%s"%s,"servico_digital":"chat"}',
      codigo, selector)
   counter = counter + 1
   sent[kind] = sent[kind] + 1
   sent_f, sent_u, sent_d = sent.f, sent.u, sent.d
   return head .. kind .. "-" .. counter .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

if os.getenv("BENCH_CHECK") == "1" then
   local expected = { f = 200, u = 404, d = 400 }
   function response(status, headers, body)
      local id
      for name, value in pairs(headers) do
         if string.lower(name) == "x-itau-correlationid" then id = value end
      end
      local kind = id and string.match(id, "^bench%-(%a)%-")
      if not kind or not expected[kind] then
         unlabelled = unlabelled + 1
         return
      end
      checked[kind] = checked[kind] + 1
      checked_f, checked_u, checked_d = checked.f, checked.u, checked.d
      if status ~= expected[kind] then
         wrong = wrong + 1
         if first_wrong == "" then
            first_wrong = string.format("%s got %d, expected %d", id, status, expected[kind])
         end
      end
   end
end

-- One line xtask parses; everything else wrk prints is for people.
function done(summary, latency, requests)
   local total = { sent_f = 0, sent_u = 0, sent_d = 0, checked_f = 0, checked_u = 0,
      checked_d = 0, wrong = 0, unlabelled = 0 }
   local first = ""
   for _, thread in ipairs(threads) do
      for name, _ in pairs(total) do
         total[name] = total[name] + (tonumber(thread:get(name)) or 0)
      end
      local example = thread:get("first_wrong")
      if first == "" and example then first = example end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH-RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},'
         .. '"sent":{"f":%d,"u":%d,"d":%d},"checked":{"f":%d,"u":%d,"d":%d},'
         .. '"wrong":%d,"unlabelled":%d,"first_wrong":"%s"}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), latency.max,
      total.sent_f, total.sent_u, total.sent_d,
      total.checked_f, total.checked_u, total.checked_d,
      total.wrong, total.unlabelled, first))
end
