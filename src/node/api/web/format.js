// Number formatting exactly as the CLI prints it (src/node/cli/format.ts, train-format.ts), so the page and
// `meshnode train status` show the same figures.

const finite = (v) => typeof v === 'number' && Number.isFinite(v)

/** Bytes in binary units (`1023 B`, `1.5 MiB`); `-` when not finite. */
export function formatBytes (bytes) {
  if (!finite(bytes)) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = bytes
  let u = 0
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`
}

/** `850 ms`, `12.3 s`, `4m05s`, `2h03m`. */
export function formatDuration (ms) {
  if (!finite(ms)) return '-'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

/** A 0..1 metric as a percentage with one decimal; `-` when missing. */
export const formatPct = (v) => finite(v) ? `${(v * 100).toFixed(1)}%` : '-'

/** A loss or score with 4 decimals; `-` when missing. */
export const formatNum = (v) => finite(v) ? v.toFixed(4) : '-'

/** A peer id shortened as `meshnode peers` does. */
export const shortId = (id) => typeof id === 'string' && id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : (id ?? '-')

/** The last 6 characters of a peer id, as the rounds table names contributors. */
export const shortPeer = (p) => String(p).slice(-6)

/** First 12 hex digits of a job id (accepted back by every `train` command). */
export const shortJobId = (id) => String(id).slice(0, 12)

/** Latency as `meshnode peers` prints it. */
export const formatLatency = (ms) => finite(ms) ? `${ms} ms` : '-'

/** Uptime in seconds, as `meshnode status` prints it. */
export const formatUptime = (sec) => finite(sec) ? `${sec} s` : '-'

/** The job's figure for a round: pooled over the contributors' held-out splits where known, else this node's. */
export const roundAccuracy = (r) => r.pooled?.accuracy ?? r.accuracy
/** The loss column of `train status`: this node's own evaluation. */
export const roundLoss = (r) => r.loss
