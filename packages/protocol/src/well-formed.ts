/** A UTF-16 code unit of a surrogate pair standing alone: `\p{Cs}` under the `u` flag matches only those. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when every string in the value, object keys included, is well-formed Unicode: JSON's `\uDFFF`
 * escapes can carry a lone surrogate, which no UTF-8 store can hold (Postgres' jsonb refuses it;
 * text columns and Redis replace it with U+FFFD, so two different ids become one). Every boundary
 * where text enters (REST bodies, paths and queries, frames, token claims, upload names) refuses
 * such text rather than store something else. Iterative, so that deep nesting cannot overflow.
 */
export function isWellFormedText(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return false;
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, inner] of Object.entries(v)) {
        if (LONE_SURROGATE.test(key)) return false;
        pending.push(inner);
      }
    }
  }
  return true;
}

/** The message of every refusal for text that is not well-formed. */
export const MALFORMED_TEXT = 'Text must be well-formed Unicode (a lone surrogate is not)';
