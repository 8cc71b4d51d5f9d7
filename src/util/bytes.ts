const UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** Parses "500MB", "2 GiB", "1tb" (decimal and binary units, any case); returns undefined for anything else. */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/** In the largest binary unit that divides it exactly ("1GiB", "1536KiB"): what parseBytes reads back as it was. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** For reasons: 1.5 GiB, 730 KiB, 12 B; binary units, three significant figures at most. */
export function formatBytes(n: number): string {
  let value = n;
  for (const unit of ['B', 'KiB', 'MiB', 'GiB', 'TiB']) {
    if (value < 1024 || unit === 'TiB') return `${unit === 'B' ? Math.round(value) : +value.toPrecision(3)} ${unit}`;
    value /= 1024;
  }
  return `${n} B`;
}
