/* global ResizeObserver */
// A job's accuracy (left axis, %) and loss (right axis) per accepted round, drawn with uPlot. The chart is created
// once per job and fed new data in place, so a round's point appears without a redraw of the page.
import { html } from './html.js'
import { useEffect, useRef } from './vendor/preact-hooks.js'
import UPlot from './vendor/uplot.js'
import { roundAccuracy, roundLoss, formatPct, formatNum } from './format.js'

/** The chart's series from a job's rounds, in round order (rounds without a figure are left as gaps). */
export function curveData (rounds) {
  const rs = [...rounds].sort((a, b) => a.round - b.round)
  return [rs.map(r => r.round), rs.map(r => roundAccuracy(r) ?? null), rs.map(r => roundLoss(r) ?? null)]
}

function options (width) {
  return {
    width,
    height: 200,
    scales: { x: { time: false }, acc: { range: [0, 1] }, loss: {} },
    axes: [
      // rounds are whole numbers: no tick between them
      { label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] },
      { scale: 'acc', label: 'accuracy', values: (_u, vals) => vals.map(v => `${Math.round(v * 100)}%`) },
      { scale: 'loss', label: 'loss', side: 1, grid: { show: false } }
    ],
    series: [
      { label: 'round' },
      { label: 'accuracy', scale: 'acc', stroke: '#2b6cb0', width: 2, points: { size: 5 }, value: (_u, v) => formatPct(v) },
      { label: 'loss', scale: 'loss', stroke: '#c05621', width: 2, dash: [6, 4], points: { size: 4 }, value: (_u, v) => formatNum(v) }
    ]
  }
}

/** The live curve of one job; `data-points` on the wrapper counts the rounds drawn (tests and the bench read it). */
export function Curve ({ rounds, label }) {
  const box = useRef(null)
  const plot = useRef(null)
  const data = curveData(rounds)
  useEffect(() => {
    const el = box.current
    plot.current = new UPlot(options(Math.max(260, el.clientWidth)), data, el)
    const ro = new ResizeObserver(() => { plot.current?.setSize({ width: Math.max(260, el.clientWidth), height: 200 }) })
    ro.observe(el)
    return () => { ro.disconnect(); plot.current?.destroy(); plot.current = null }
  }, [])
  useEffect(() => { plot.current?.setData(data) }, [JSON.stringify(data)])
  return html`<figure class="curve" aria-label=${label}>
    <div ref=${box} class="curve-plot" data-points=${data[0].length}></div>
    <figcaption>${data[0].length === 0 ? 'no accepted round yet' : `${data[0].length} rounds · accuracy (pooled where known) and loss, as train status`}</figcaption>
  </figure>`
}
