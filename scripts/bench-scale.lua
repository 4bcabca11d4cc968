-- For scripts/bench-scale.sh: every request asks for the next path of a list (a file with one
-- path a line, given after --), each wrk thread starting at its own place in the list.
--
--   wrk -t2 -c16 -d10s -s scripts/bench-scale.lua http://127.0.0.1:3312 -- paths.txt

local threads = 0

-- Runs in wrk's main interpreter, once per thread: numbers the threads.
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local paths = {}
local position = 1

function init(args)
  local file = args[1] or error("give the file of paths after --")
  for line in io.lines(file) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("no paths in " .. file)
  end
  -- Threads spread over the list instead of asking for the same pages in step.
  position = ((thread_number or 0) * math.floor(#paths / 2)) % #paths + 1
end

function request()
  local path = paths[position]
  position = position % #paths + 1
  return wrk.format("GET", path)
end
