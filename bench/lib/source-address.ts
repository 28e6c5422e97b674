/**
 * Local addresses for client sockets: every 127.0.0.x is loopback on Linux, and each one has its
 * own ~28,000 ephemeral ports, so large connection counts spread over several.
 */
const PER_ADDRESS = 20_000;
let opened = 0;

export function nextLocalAddress(): string {
  return `127.0.0.${1 + Math.floor(opened++ / PER_ADDRESS)}`;
}
