/**
 * The log check every stack runs on its services: a line must never hold a token or the text of a
 * message. Texts sent through the testkit (TestClient, ChatLoad, Stack.http) are noted here; a log
 * line is JSON (pino), and any string value in it equal to one of them is a leak.
 */
const sentTexts = new Set<string>();
/** Short texts ("hi") could equal an innocent log value; every test sends some longer ones too. */
const MIN_CHARS = 8;
const JWT = /eyJ[\w-]{6,}\.eyJ[\w-]{6,}\./;

export function noteSentText(text: unknown): void {
  if (typeof text === 'string' && text.length >= MIN_CHARS) sentTexts.add(text);
}

/** What `line` leaks, if anything. */
export function logLeak(line: string): string | undefined {
  if (JWT.test(line)) return `a token: ${line}`;
  if (sentTexts.size === 0 || !line.startsWith('{')) return undefined;
  let leak: string | undefined;
  try {
    JSON.parse(line, (key, value: unknown) => {
      if (typeof value === 'string' && key !== 'msg' && sentTexts.has(value)) leak = `message text in "${key}": ${line}`;
      return value;
    });
  } catch {
    return undefined;
  }
  return leak;
}
