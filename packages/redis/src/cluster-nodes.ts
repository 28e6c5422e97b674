/** A node as a line of CLUSTER NODES tells it. */
export interface ClusterNode {
  id: string;
  /** `ip:port`, without the bus port. */
  address: string;
  /** `myself`, `master`, `slave`, `fail?`, `fail`, … */
  flags: string[];
  /** Its master's id, for a replica (`-` for a master). */
  master: string;
  /** Its link from the node asked: `connected` or `disconnected`. */
  link: string;
  /** The slot ranges it serves, inclusive (those being imported or migrated, `[…]`, left out). */
  ranges: Array<[number, number]>;
}

/** CLUSTER NODES' reply: a line `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>` per node. */
export function parseClusterNodes(reply: string): ClusterNode[] {
  return reply
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', address = '', flags = '', master = '', , , , link = '', ...ranges] = line.split(' ');
      return {
        id,
        address: address.split('@')[0]!,
        flags: flags.split(','),
        master,
        link,
        ranges: ranges
          .filter((r) => !r.startsWith('['))
          .map((r) => {
            const [from, to = from] = r.split('-').map(Number);
            return [from!, to!];
          }),
      };
    });
}
