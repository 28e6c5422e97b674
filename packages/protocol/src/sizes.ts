const UNITS = ['KB', 'MB', 'GB', 'TB'] as const;

/**
 * A byte count as people read it, in units of 1024: `28 B`, `1.5 KB`, `10 MB`. One decimal below 10
 * of a unit, none above; never rounds a non-empty size down to zero.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  // 1023.96 KB rounds to 1024: say 1 MB instead.
  if (shown >= 1024 && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}
