// The message path's invariant test, run again on a Redis Cluster of 3 masters with a replica each.
process.env.PARLEY_TEST_REDIS = 'cluster';
await import('../message-path.test.js');
export {};
