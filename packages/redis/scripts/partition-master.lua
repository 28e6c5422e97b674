-- partition-master: which server serves a partition's slot now, and which one the partition was
-- last reconciled on (redis-recovery.ts). Run through the cluster's routing, it answers from the
-- master that really holds the slot, whatever the caller's slot map says.
-- KEY.incarnation the partition's incarnation key (the run_id recorded at its last reconciliation)
-- Returns {this server's run_id, the recorded run_id or ''}.
return { run_id(), redis.call('GET', KEY.incarnation) or '' }
