/** cluster-key-slot (ioredis' own): the Redis Cluster slot of a key, honouring `{hash tags}`. */
declare module 'cluster-key-slot' {
  export default function keySlot(key: string): number;
}
