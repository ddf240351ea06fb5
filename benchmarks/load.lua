-- wrk script for benchmarks/load.py: unique, verifiable requests.
--
--   wrk -t2 -c64 -d30s --timeout 10s -s benchmarks/load.lua http://127.0.0.1:PORT/ \
--       -- OUT_DIR close|keep-alive "/search/?q={token}" "/flags/?visitor={token}" ...
--
-- request() walks the page templates round-robin and replaces "{token}" with a
-- token unique in the run: "tk" .. thread id (hex) .. counter (7 hex digits)
-- .. "z", the format the pages echo in their text. The counter also gives the
-- page: template number (counter - 1) mod #templates, counting from 0. (wrk
-- calls request() once on the first thread to check it; that token is never
-- sent, which is harmless.)
--
-- response() finds the token and the toolbar's data-request-id in the body and
-- appends one line per response to OUT_DIR/thread-<id>.txt:
--
--   <status> <token or -> <request id or -> <X-Served-By or ->
--
-- With "close", every request asks for "Connection: close" and wrk opens a
-- new connection for the next one, which any worker may accept. With
-- "keep-alive", wrk's connections stay open, each on the worker that accepted
-- it; wrk opens them all at once, and one uvicorn worker tends to accept most.
--
-- load.py reads those files; what done() prints is only a summary for people.
-- Each wrk thread runs its own Lua state, so every global below is per thread.

local threads = {}
local next_id = 1

-- Runs in wrk's main Lua state, once per thread, before that thread's init().
function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local templates = {}
local headers = {}
local out = nil
local counter = 0
statuses = {} -- global, so done() can read it with thread:get()

function init(args)
   -- Only ever aim the load at this machine.
   if wrk.host ~= "127.0.0.1" then
      error("load.lua only runs against 127.0.0.1, not " .. tostring(wrk.host))
   end
   -- args[0] is the URL; the script's own arguments follow wrk's "--".
   local out_dir, mode = args[1], args[2]
   for i = 3, #args do
      table.insert(templates, args[i])
   end
   if out_dir == nil or #templates == 0 or (mode ~= "close" and mode ~= "keep-alive") then
      error("usage: wrk ... -s load.lua URL -- OUT_DIR close|keep-alive TEMPLATE...")
   end
   if mode == "close" then
      headers["Connection"] = "close"
   end
   out = assert(io.open(string.format("%s/thread-%d.txt", out_dir, id), "w"))
   -- wrk never closes the threads' Lua states: unbuffered lines reach the
   -- file even though nothing flushes it at exit.
   out:setvbuf("line")
end

function request()
   counter = counter + 1
   -- load.py finds a token's page the same way: (counter - 1) mod #templates.
   local template = templates[(counter - 1) % #templates + 1]
   local token = string.format("tk%x%07xz", id, counter)
   -- A function replacement: no "%" escapes are interpreted in the token.
   local path = template:gsub("{token}", function() return token end)
   return wrk.format("GET", path, headers)
end

local function header(headers, wanted)
   for name, value in pairs(headers) do
      if name:lower() == wanted then
         return value
      end
   end
   return nil
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local token = body and body:match("tk%x+z") or nil
   local request_id = body and body:match('data%-request%-id="(%x+)"') or nil
   local served_by = header(headers, "x-served-by")
   out:write(string.format("%d %s %s %s\n", status, token or "-",
                           request_id or "-", served_by or "-"))
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses") or {}) do
         counts[status] = (counts[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format("%s: %d", status, n))
   end
   table.sort(parts)
   io.write("load.lua statuses: " .. table.concat(parts, ", ") .. "\n")
end
