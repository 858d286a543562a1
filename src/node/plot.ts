/**
 * A dependency-free SVG line chart of a training job's progress: accuracy per round on the left axis (0..1), loss on
 * the right axis (auto-scaled), with ticks, grid, legend and title. Used by `GET /v1/training/jobs/{id}/plot` and so by
 * `meshnode train plot`. SVG only: nothing in the dependency tree rasterises SVG, so PNG output is refused upstream.
 */
import type { RoundReport } from '../training/index.js'

/** The fields the chart reads; metrics may be null or NaN (a diverged round): such points break the line. */
export type ChartRound = Pick<RoundReport, 'round'> & {
  accuracy: number | null
  loss: number | null
}

export interface ChartOptions {
  title?: string
  /** Pixels; clamped to [200, 4000]. */
  width?: number
  /** Pixels; clamped to [150, 3000]. */
  height?: number
  /** Target accuracy, drawn as a dashed horizontal line. */
  target?: number
}

export const CHART_DEFAULTS = { width: 720, height: 360 } as const
const COLORS = { accuracy: '#1f77b4', loss: '#d62728', target: '#2ca02c', grid: '#e5e5e5', axis: '#333333', text: '#222222' }
const MARGIN = { top: 52, right: 64, bottom: 44, left: 60 }
/** Above this many rounds the markers would merge into a smear: draw lines only. */
const MAX_MARKERS = 60

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v))
const isNum = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v)
/** Coordinates with two decimals keep the file small and stable across platforms. */
const c = (v: number): string => String(Math.round(v * 100) / 100)

/** Escape text for XML content and attribute values. */
export function escapeXml (s: string): string {
  return s.replace(/[&<>"']/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch] as string)
}

/** A 1-2-5 step so that `span` is covered by about `count` intervals. */
function niceStep (span: number, count: number): number {
  const raw = span / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const norm = raw / mag
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag
}

function decimalsOf (step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
}

/** Loss axis: starts at 0 (or below for a negative loss) and ends on a nice tick above the largest loss. */
function lossAxis (losses: number[]): { min: number, max: number, ticks: number[], decimals: number } {
  let lo = Math.min(0, ...losses)
  let hi = losses.length === 0 ? 1 : Math.max(...losses)
  if (!(hi > lo)) hi = lo + 1
  const step = niceStep(hi - lo, 5)
  lo = Math.floor(lo / step) * step
  hi = Math.ceil(hi / step - 1e-9) * step
  const ticks: number[] = []
  for (let i = 0; lo + i * step <= hi + step * 1e-6; i++) ticks.push(lo + i * step)
  return { min: lo, max: hi, ticks, decimals: decimalsOf(step) }
}

/** Integer round ticks inside [min, max], at most `count` of them. */
function roundTicks (min: number, max: number, count: number): number[] {
  const step = Math.max(1, Math.ceil(niceStep(Math.max(1, max - min), count)))
  const ticks: number[] = []
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t)
  return ticks
}

/** The rounds sorted by number, one entry per round (the last report wins). */
function normalise (rounds: readonly ChartRound[]): ChartRound[] {
  const byRound = new Map<number, ChartRound>()
  for (const r of rounds) if (Number.isFinite(r.round)) byRound.set(r.round, r)
  return [...byRound.values()].sort((a, b) => a.round - b.round)
}

/** `M x y L x y ...`, starting a new segment after every missing value. */
function linePath (points: Array<[number, number] | null>): string {
  let d = ''
  let pen = false
  for (const p of points) {
    if (p == null) { pen = false; continue }
    d += `${d === '' ? '' : ' '}${pen ? 'L' : 'M'}${c(p[0])} ${c(p[1])}`
    pen = true
  }
  return d
}

/**
 * Render accuracy and loss per round as a standalone SVG document. Zero rounds give empty axes with a note; one round
 * is centred. Points carry `data-round` so tools (and tests) can read the chart back.
 */
export function renderSvgChart (rounds: readonly ChartRound[], opts: ChartOptions = {}): string {
  const W = Math.round(clamp(opts.width ?? CHART_DEFAULTS.width, 200, 4000))
  const H = Math.round(clamp(opts.height ?? CHART_DEFAULTS.height, 150, 3000))
  const title = opts.title ?? 'training progress'
  const x0 = MARGIN.left
  const x1 = W - MARGIN.right
  const y0 = MARGIN.top
  const y1 = H - MARGIN.bottom
  const data = normalise(rounds)

  let dMin = data.length > 0 ? data[0].round : 0
  let dMax = data.length > 0 ? data[data.length - 1].round : 1
  if (dMax === dMin) { dMin -= 0.5; dMax += 0.5 }
  const sx = (r: number): number => x0 + (r - dMin) / (dMax - dMin) * (x1 - x0)
  const sAcc = (a: number): number => y1 - clamp(a, 0, 1) * (y1 - y0)
  const loss = lossAxis(data.map(r => r.loss).filter(isNum))
  const sLoss = (l: number): number => y1 - (l - loss.min) / (loss.max - loss.min) * (y1 - y0)

  const out: string[] = []
  out.push('<?xml version="1.0" encoding="UTF-8"?>')
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif" font-size="11" fill="${COLORS.text}">`)
  out.push(`<title>${escapeXml(title)}</title>`)
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`)
  out.push(`<text class="title" x="${c(W / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`)

  // grid and left (accuracy) axis
  out.push('<g class="axis" data-axis="accuracy">')
  for (let i = 0; i <= 5; i++) {
    const v = i / 5
    const y = sAcc(v)
    out.push(`<line x1="${x0}" y1="${c(y)}" x2="${x1}" y2="${c(y)}" stroke="${COLORS.grid}"/>`)
    out.push(`<line x1="${x0 - 4}" y1="${c(y)}" x2="${x0}" y2="${c(y)}" stroke="${COLORS.axis}"/>`)
    out.push(`<text class="tick" x="${x0 - 7}" y="${c(y + 4)}" text-anchor="end" fill="${COLORS.accuracy}">${Math.round(v * 100)}%</text>`)
  }
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="${COLORS.axis}"/>`)
  out.push(`<text class="label" transform="translate(14 ${c((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" fill="${COLORS.accuracy}">accuracy</text>`)
  out.push('</g>')

  // right (loss) axis
  out.push('<g class="axis" data-axis="loss">')
  for (const v of loss.ticks) {
    const y = sLoss(v)
    out.push(`<line x1="${x1}" y1="${c(y)}" x2="${x1 + 4}" y2="${c(y)}" stroke="${COLORS.axis}"/>`)
    out.push(`<text class="tick" x="${x1 + 7}" y="${c(y + 4)}" text-anchor="start" fill="${COLORS.loss}">${v.toFixed(loss.decimals)}</text>`)
  }
  out.push(`<line x1="${x1}" y1="${y0}" x2="${x1}" y2="${y1}" stroke="${COLORS.axis}"/>`)
  out.push(`<text class="label" transform="translate(${W - 12} ${c((y0 + y1) / 2)}) rotate(90)" text-anchor="middle" fill="${COLORS.loss}">loss</text>`)
  out.push('</g>')

  // bottom (round) axis
  out.push('<g class="axis" data-axis="round">')
  out.push(`<line x1="${x0}" y1="${y1}" x2="${x1}" y2="${y1}" stroke="${COLORS.axis}"/>`)
  if (data.length > 0) {
    for (const t of roundTicks(dMin, dMax, Math.max(2, Math.min(10, Math.floor((x1 - x0) / 50))))) {
      const x = sx(t)
      out.push(`<line x1="${c(x)}" y1="${y1}" x2="${c(x)}" y2="${y1 + 4}" stroke="${COLORS.axis}"/>`)
      out.push(`<text class="tick" x="${c(x)}" y="${y1 + 16}" text-anchor="middle">${t}</text>`)
    }
  }
  out.push(`<text class="label" x="${c((x0 + x1) / 2)}" y="${H - 8}" text-anchor="middle">round</text>`)
  out.push('</g>')

  if (isNum(opts.target)) {
    const y = sAcc(opts.target)
    out.push(`<g class="target"><line x1="${x0}" y1="${c(y)}" x2="${x1}" y2="${c(y)}" stroke="${COLORS.target}" stroke-dasharray="2 3"/>`)
    out.push(`<text x="${x1 - 4}" y="${c(y - 4)}" text-anchor="end" fill="${COLORS.target}">target ${(opts.target * 100).toFixed(1)}%</text></g>`)
  }

  if (data.length === 0) {
    out.push(`<text class="empty" x="${c((x0 + x1) / 2)}" y="${c((y0 + y1) / 2)}" text-anchor="middle" fill="#777777">no rounds yet</text>`)
  }

  const series = [
    { name: 'accuracy', color: COLORS.accuracy, dash: '', value: (r: ChartRound) => r.accuracy, scale: sAcc },
    { name: 'loss', color: COLORS.loss, dash: ' stroke-dasharray="6 3"', value: (r: ChartRound) => r.loss, scale: sLoss }
  ]
  for (const s of series) {
    const points = data.map(r => { const v = s.value(r); return isNum(v) ? [sx(r.round), s.scale(v)] as [number, number] : null })
    out.push(`<g class="series" data-series="${s.name}">`)
    out.push(`<path class="line" d="${linePath(points)}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash}/>`)
    if (data.length <= MAX_MARKERS) {
      data.forEach((r, i) => {
        const p = points[i]
        if (p != null) out.push(`<circle cx="${c(p[0])}" cy="${c(p[1])}" r="2.5" fill="${s.color}" data-round="${r.round}"/>`)
      })
    }
    out.push('</g>')
  }

  // legend, top right above the plot area
  out.push('<g class="legend">')
  series.forEach((s, i) => {
    const lx = x1 - 240 + i * 125
    out.push(`<line x1="${lx}" y1="38" x2="${lx + 22}" y2="38" stroke="${s.color}" stroke-width="2"${s.dash}/>`)
    out.push(`<text x="${lx + 27}" y="42">${s.name} (${i === 0 ? 'left' : 'right'})</text>`)
  })
  out.push('</g>')
  out.push('</svg>')
  return out.join('\n') + '\n'
}
