-- This server's run_id, read once: a library's locals live as long as the server's process (or until
-- the library is loaded again), and a process keeps its run_id for life. INFO builds and searches a
-- page of text, which cost as much as the rest of an append together (bench/README.md).
local server_run_id
local function run_id()
  if not server_run_id then
    server_run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  end
  return server_run_id
end
