/** Output helpers for the CLI: JSON when asked, aligned tables otherwise. */

/** Print rows as an aligned table with a header line. */
export function table (headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map(r => r.map(c => c == null ? '-' : String(c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map(r => r[i]?.length ?? 0)))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(headers), line(widths.map(w => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

/** Key/value lines for a single object. */
export function keyValues (pairs: Array<[string, string | number | null | undefined]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${k.padEnd(w)}  ${v == null ? '-' : String(v)}`).join('\n')
}

/** Bytes in binary units (`1023 B`, `1.5 MiB`); `-` when not finite. */
export function formatBytes (bytes: number): string {
  if (!Number.isFinite(bytes)) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = bytes
  let u = 0
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`
}

/** Write a result: JSON with --json, else the human rendering. */
export function output (json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n')
}
