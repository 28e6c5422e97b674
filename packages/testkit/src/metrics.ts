/** One scrape of a Prometheus text endpoint. */
export class Scrape {
  constructor(readonly text: string) {}

  /** The sum of the samples named `name` whose labels include `labels` (undefined when there is none). */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    let sum: number | undefined;
    for (const line of this.text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(match[3]);
    }
    return sum;
  }
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`scrape ${url}: ${res.status}`);
  return new Scrape(await res.text());
}
