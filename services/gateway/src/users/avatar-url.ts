/**
 * A profile's avatar is shown by clients as an image and often wrapped in a link, so it must be a
 * URL a browser fetches, never one it runs: `https:` only, and `http:` where AVATAR_ALLOW_HTTP says
 * (a network of its own without TLS). `javascript:`, `data:`, relative and unparsable values are
 * refused by the service API and dropped from token claims. Parsing is WHATWG URL's, as browsers'
 * is, and the URL is kept as it serializes (so what is checked is what is served).
 */
export function avatarUrlOf(value: string, allowHttp: boolean): string | null {
  if (!URL.canParse(value)) return null;
  const url = new URL(value);
  const allowed = url.hostname !== '' && (url.protocol === 'https:' || (allowHttp && url.protocol === 'http:'));
  return allowed ? url.href : null;
}

/** What an avatar must be, as a refusal says it. */
export function avatarRule(allowHttp: boolean): string {
  return `An avatar is ${allowHttp ? 'an https: or http:' : 'an https:'} URL`;
}
