/** The SVG chart: well-formed XML, points placed by round and value, axes that cover the data, 0/1/many rounds. */
import { describe, it, expect } from 'vitest'
import { XMLValidator } from 'fast-xml-parser'
import { renderSvgChart, escapeXml, CHART_DEFAULTS, type ChartRound } from '../../../src/node/plot.js'
import type { RoundReport } from '../../../src/training/service/api-types.js'

function rounds (n: number, start = 0, f: (i: number) => Partial<ChartRound> = () => ({})): ChartRound[] {
  // accuracy rises and loss falls, as in a healthy run
  return Array.from({ length: n }, (_, i) => ({ round: start + i, accuracy: 0.1 + 0.85 * i / Math.max(1, n - 1), loss: 2.3 * Math.exp(-i / 10), ...f(i) }))
}

const attr = (tag: string, name: string): number => Number(new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1])

/** The `d` of a series' path as [x, y] points, and whether it was broken into segments. */
function seriesPath (svg: string, series: string): { points: Array<[number, number]>, segments: number } {
  const group = new RegExp(`<g class="series" data-series="${series}">([\\s\\S]*?)</g>`).exec(svg)?.[1]
  expect(group, `series ${series}`).toBeDefined()
  const d = /<path class="line" d="([^"]*)"/.exec(group!)?.[1] ?? ''
  const points = [...d.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map(m => [Number(m[1]), Number(m[2])] as [number, number])
  return { points, segments: (d.match(/M/g) ?? []).length }
}

function markers (svg: string, series: string): Array<{ round: number, cx: number, cy: number }> {
  const group = new RegExp(`<g class="series" data-series="${series}">([\\s\\S]*?)</g>`).exec(svg)?.[1] ?? ''
  return [...group.matchAll(/<circle [^>]*>/g)].map(m => ({ round: attr(m[0], 'data-round'), cx: attr(m[0], 'cx'), cy: attr(m[0], 'cy') }))
}

function tickLabels (svg: string, axis: string): string[] {
  const group = new RegExp(`<g class="axis" data-axis="${axis}">([\\s\\S]*?)</g>`).exec(svg)?.[1] ?? ''
  return [...group.matchAll(/<text class="tick"[^>]*>([^<]*)<\/text>/g)].map(m => m[1])
}

function expectWellFormed (svg: string): void {
  expect(XMLValidator.validate(svg)).toBe(true)
  expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
  expect(svg).not.toMatch(/NaN|Infinity|undefined/)
}

describe('renderSvgChart', () => {
  it.each([0, 1, 2, 7, 50, 200])('renders %i rounds as well-formed SVG with one point per round', (n) => {
    const data = rounds(n)
    const svg = renderSvgChart(data, { title: 'job abc' })
    expectWellFormed(svg)
    for (const series of ['accuracy', 'loss']) {
      const { points, segments } = seriesPath(svg, series)
      expect(points.length).toBe(n)
      expect(segments).toBe(n === 0 ? 0 : 1)
      // x strictly increasing with the round number
      for (let i = 1; i < points.length; i++) expect(points[i][0]).toBeGreaterThan(points[i - 1][0])
      // markers only while they stay readable
      expect(markers(svg, series).length).toBe(n <= 60 ? n : 0)
    }
  })

  it('places rising accuracy higher (smaller y) and falling loss lower, inside the plot area', () => {
    const svg = renderSvgChart(rounds(20))
    const acc = seriesPath(svg, 'accuracy').points
    const loss = seriesPath(svg, 'loss').points
    for (let i = 1; i < acc.length; i++) {
      expect(acc[i][1]).toBeLessThan(acc[i - 1][1])
      expect(loss[i][1]).toBeGreaterThan(loss[i - 1][1])
    }
    for (const [x, y] of [...acc, ...loss]) {
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThanOrEqual(CHART_DEFAULTS.width)
      expect(y).toBeGreaterThanOrEqual(0)
      expect(y).toBeLessThanOrEqual(CHART_DEFAULTS.height)
    }
    // the first and last rounds span the plot area's width
    expect(acc[0][0]).toBeLessThan(CHART_DEFAULTS.width * 0.2)
    expect(acc.at(-1)![0]).toBeGreaterThan(CHART_DEFAULTS.width * 0.8)
  })

  it('maps accuracy linearly: 0 at the bottom, 1 at the top, 0.5 half way', () => {
    const svg = renderSvgChart([{ round: 0, accuracy: 0, loss: 1 }, { round: 1, accuracy: 0.5, loss: 1 }, { round: 2, accuracy: 1, loss: 1 }])
    const [a0, a5, a1] = seriesPath(svg, 'accuracy').points.map(p => p[1])
    expect(a0).toBeGreaterThan(a1)
    expect((a0 + a1) / 2).toBeCloseTo(a5, 1)
    expect(tickLabels(svg, 'accuracy')).toEqual(['0%', '20%', '40%', '60%', '80%', '100%'])
  })

  it.each([
    [[0.5, 0.2, 0.1], 0.5],
    [[2.31, 1.2, 0.4], 2.31],
    [[120, 80, 30], 120],
    [[0.004, 0.002, 0.001], 0.004]
  ])('auto-scales the loss axis to cover losses %j', (losses, max) => {
    const svg = renderSvgChart(losses.map((loss, i) => ({ round: i, accuracy: 0.5, loss })))
    const ticks = tickLabels(svg, 'loss').map(Number)
    expect(ticks[0]).toBe(0)
    expect(ticks.at(-1)).toBeGreaterThanOrEqual(max)
    expect(ticks.at(-1)).toBeLessThan(max * 2.5)
    expect(ticks.length).toBeGreaterThanOrEqual(3)
    expect(ticks.length).toBeLessThanOrEqual(12)
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]).toBeGreaterThan(ticks[i - 1])
    // the largest loss sits at or below the top tick, the smallest above the bottom
    const ys = seriesPath(svg, 'loss').points.map(p => p[1])
    expect(Math.min(...ys)).toBeGreaterThanOrEqual(52 - 0.01)
  })

  it('centres a single round and labels it', () => {
    const svg = renderSvgChart([{ round: 4, accuracy: 0.8, loss: 0.5 }], { width: 400, height: 200 })
    expectWellFormed(svg)
    const [[x]] = seriesPath(svg, 'accuracy').points
    const plotMid = (60 + (400 - 64)) / 2
    expect(x).toBeCloseTo(plotMid, 1)
    expect(tickLabels(svg, 'round')).toEqual(['4'])
  })

  it('shows an empty chart with a note for zero rounds', () => {
    const svg = renderSvgChart([])
    expectWellFormed(svg)
    expect(svg).toContain('no rounds yet')
    expect(tickLabels(svg, 'round')).toEqual([])
    expect(tickLabels(svg, 'loss').length).toBeGreaterThan(1)
  })

  it('uses integer round ticks, at most 10, inside the data range', () => {
    for (const [n, start] of [[50, 0], [3, 10], [1000, 0], [12, 1]]) {
      const ticks = tickLabels(renderSvgChart(rounds(n, start)), 'round').map(Number)
      expect(ticks.length).toBeGreaterThanOrEqual(Math.min(n, 2))
      expect(ticks.length).toBeLessThanOrEqual(10)
      for (const t of ticks) {
        expect(Number.isInteger(t)).toBe(true)
        expect(t).toBeGreaterThanOrEqual(start)
        expect(t).toBeLessThanOrEqual(start + n - 1)
      }
    }
  })

  it('sorts rounds and keeps one point per round (the last report wins)', () => {
    const svg = renderSvgChart([{ round: 2, accuracy: 0.3, loss: 1 }, { round: 0, accuracy: 0.1, loss: 1 }, { round: 1, accuracy: 0.2, loss: 1 }, { round: 1, accuracy: 0.25, loss: 1 }])
    expect(markers(svg, 'accuracy').map(m => m.round)).toEqual([0, 1, 2])
    const ys = markers(svg, 'accuracy').map(m => m.cy)
    expect(ys[1]).toBeLessThan(ys[0])
    expect(ys[2]).toBeLessThan(ys[1])
  })

  it('breaks the line at a missing or non-finite metric instead of drawing NaN', () => {
    const data = rounds(6, 0, i => i === 3 ? { loss: NaN, accuracy: null } : {})
    const svg = renderSvgChart(data)
    expectWellFormed(svg)
    for (const series of ['accuracy', 'loss']) {
      const { points, segments } = seriesPath(svg, series)
      expect(points.length).toBe(5)
      expect(segments).toBe(2)
      expect(markers(svg, series).map(m => m.round)).toEqual([0, 1, 2, 4, 5])
    }
  })

  it('escapes the title and draws the legend, axis labels and target line', () => {
    const svg = renderSvgChart(rounds(3), { title: 'job <a & "b">', target: 0.95 })
    expectWellFormed(svg)
    expect(svg).toContain('<title>job &lt;a &amp; &quot;b&quot;&gt;</title>')
    expect(svg).toContain('accuracy (left)')
    expect(svg).toContain('loss (right)')
    expect(svg).toMatch(/>round<\/text>/)
    expect(svg).toContain('target 95.0%')
  })

  it('clamps the size and accepts full RoundReports', () => {
    const full: RoundReport[] = [{ round: 0, accuracy: 0.9, loss: 0.3, f1: 0.9, precision: 0.9, recall: 0.9, participants: 3, bytesSent: 1, bytesReceived: 2, durationMs: 3, modelCid: 'x', modelHash: 'y' }]
    const svg = renderSvgChart(full, { width: 10, height: 1e6 })
    expect(svg).toMatch(/<svg [^>]*width="200" height="3000"/)
  })

  it.each([['a<b', 'a&lt;b'], ['"\'&', '&quot;&apos;&amp;'], ['plain', 'plain']])('escapeXml(%j)', (input, out) => {
    expect(escapeXml(input)).toBe(out)
  })
})
