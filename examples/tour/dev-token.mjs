// The load balancer, and development tokens from it (POST /dev/tokens exists unless
// NODE_ENV=production; in a real deployment your backend signs the tokens).
export const lb = process.env.PARLEY_URL ?? 'http://127.0.0.1:8080';
export const wsUrl = `${lb.replace(/^http/, 'ws')}/ws`;

/** @param {string} sub */
export async function devToken(sub) {
  const res = await fetch(`${lb}/dev/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub }) });
  return (await res.json()).token;
}
