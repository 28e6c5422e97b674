/**
 * A flat list of field, value, field, value… (how a stream entry's fields, XINFO's answers and the
 * like come back) as a record. A later field of the same name wins; a trailing odd item is ignored.
 */
export function pairsOf<V>(flat: readonly V[]): Record<string, V> {
  const record: Record<string, V> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1]!;
  return record;
}
