/**
 * The web dashboard's figures (issue [dashboard]), on a real 2-node in-process mesh in Debian's headless Chromium:
 * - JS shipped, gzipped: every script the node serves under /web (our modules and the vendored Preact, htm, signals,
 *   uPlot), as sent to a browser that accepts gzip. Target <= 150 KB.
 * - First render from navigation: navigation start to the node page's data on screen, cold (new browser context, no
 *   cache) and warm (reload). Target <= 300 ms (cold median). Baseline, same run: the document's own responseEnd.
 * - Event-to-screen latency: an artifact is added through the API; from the `artifact.added` event's timestamp (the
 *   node's clock) to its row on the artifacts page (the browser's clock: same machine). Target p95 <= 250 ms.
 *   Baseline, same run: the same event's arrival at a plain SSE client in this process.
 * `--quick` runs fewer samples; `--help` prints this and runs nothing.
 */
import '../src/node/polyfills.js'
import { execSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { Mesh, waitFor } from '../test/harness/index.js'
import { loadDashboardAssets } from '../src/node/api/routes/dashboard.js'
import { sseEvents } from '../src/node/cli/train-sse.js'

const USAGE = `usage: tsx bench/dashboard.ts [--quick] [--help]
  Drives the dashboard in headless Chromium (Debian package chromium) against a 2-node in-process mesh and prints
  JSON: jsGzipBytes, firstRenderMs (cold/warm median and p95), eventToScreenMs (p50/p95), each with its target and
  a same-run baseline.
  --quick   5 navigations and 10 events instead of 15 and 40`

if (process.argv.includes('--help')) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}

const quick = process.argv.includes('--quick')
const NAVS = quick ? 5 : 15
const EVENTS = quick ? 10 : 40
const TARGETS = { jsGzipBytes: 150 * 1024, firstRenderMs: 300, eventToScreenP95Ms: 250 }

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 10) / 10
}

/** Records, in the page, when the node page's data and each artifact row first appear (added by CDP, not the page). */
const OBSERVER = `(() => {
  const seen = window.__bench = { nodeInfo: null, rows: {} }
  new MutationObserver(() => {
    if (seen.nodeInfo == null && document.querySelector('[data-testid=node-info]') != null) seen.nodeInfo = performance.now()
    for (const tr of document.querySelectorAll('#artifacts tr[data-cid]')) {
      const cid = tr.getAttribute('data-cid')
      if (seen.rows[cid] == null) seen.rows[cid] = Date.now()
    }
  }).observe(document, { childList: true, subtree: true })
})()`

/** Event timestamps of `artifact.added` as the node stamped them, and when this process received them. */
async function tapEvents (base: string, token: string, signal: AbortSignal): Promise<Map<string, { at: number, here: number }>> {
  const seen = new Map<string, { at: number, here: number }>()
  const res = await fetch(`${base}/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal })
  const body = res.body
  if (body == null) return seen
  void (async () => {
    for await (const ev of sseEvents(body)) {
      if (ev.event !== 'artifact.added') continue
      const data = JSON.parse(ev.data) as { cid: string, at: string }
      seen.set(data.cid, { at: Date.parse(data.at), here: Date.now() })
    }
  })().catch(() => { /* closed */ })
  return seen
}

async function main (): Promise<void> {
  const assets = loadDashboardAssets()
  const js = [...assets].filter(([p]) => p.endsWith('.js'))
  const jsGzipBytes = js.reduce((a, [, x]) => a + x.gzip.length, 0)
  const jsRawBytes = js.reduce((a, [, x]) => a + x.body.length, 0)

  const executablePath = execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim()
  const mesh = await Mesh.start(2, { mode: 'inprocess' })
  let browser: Browser | undefined
  const stop = new AbortController()
  try {
    browser = await chromium.launch({ executablePath })
    const node = mesh.nodes[0]
    const base = node.api.baseUrl
    const token = (await readFile(join(node.dataDir, 'admin.token'), 'utf8')).trim()
    await waitFor(async () => (await node.api.request<{ peers: unknown[] }>('GET', '/v1/peers')).peers.length === 1, { what: 'the second node' })
    const login = async (): Promise<string> => `${base}${(await node.api.request<{ path: string }>('POST', '/v1/dashboard/login-codes')).path}`

    // first render: a fresh context (cold cache) per navigation, then reloads in the last one (warm)
    const cold: number[] = []
    const warm: number[] = []
    const docEnd: number[] = []
    for (let i = 0; i < NAVS + 1; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      await ctx.addInitScript(OBSERVER)
      const page = await ctx.newPage()
      await page.goto(await login())
      await page.waitForSelector('[data-testid=node-info]')
      // the login redirect is not part of a navigation to the dashboard: navigate again, cookie set, cache cold
      await ctx.clearCookies()
      await page.goto(await login())
      await page.waitForSelector('[data-testid=node-info]')
      const t = await page.evaluate(() => (globalThis as any).__bench.nodeInfo as number)
      // the first navigation warms the node's asset cache (read and gzipped on first request): not counted
      if (i > 0) {
        cold.push(t)
        docEnd.push(await page.evaluate(() => ((globalThis as any).performance.getEntriesByType('navigation')[0].responseEnd) as number))
      }
      if (i === NAVS) {
        for (let j = 0; j < NAVS; j++) {
          await page.reload()
          await page.waitForSelector('[data-testid=node-info]')
          warm.push(await page.evaluate(() => (globalThis as any).__bench.nodeInfo as number))
        }
      }
      await ctx.close()
    }

    // event to screen: artifacts added through the API, their rows observed in the page
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await ctx.addInitScript(OBSERVER)
    const page = await ctx.newPage()
    await page.goto(await login())
    await page.goto(`${base}/#/artifacts`)
    await page.waitForSelector('h1#artifacts-h').catch(async (err: unknown) => {
      process.stderr.write(`artifacts page did not render: ${(await page.textContent('body')) ?? ''}\n`)
      throw err
    })
    const events = await tapEvents(base, token, stop.signal)
    await new Promise(resolve => setTimeout(resolve, 300))
    const lat: number[] = []
    const sse: number[] = []
    for (let i = 0; i < EVENTS; i++) {
      const body = new TextEncoder().encode(`dashboard bench ${Date.now()} ${i}`)
      const { cid } = await node.api.request<{ cid: string }>('POST', '/v1/artifacts', { query: { name: `bench-${i}.txt`, kind: 'other' }, body })
      const ev = await waitFor(() => events.get(cid), { timeoutMs: 10_000, intervalMs: 5, what: 'the artifact.added event' })
      const shown = await waitFor(async () => await page.evaluate((c) => (globalThis as any).__bench.rows[c] as number | undefined, cid), { timeoutMs: 10_000, intervalMs: 10, what: 'the row on screen' })
      lat.push(shown - ev.at)
      sse.push(ev.here - ev.at)
      await new Promise(resolve => setTimeout(resolve, 150))
    }
    await ctx.close()

    const firstRenderCold = { median: pct(cold, 0.5), p95: pct(cold, 0.95) }
    process.stdout.write(JSON.stringify({
      // timings on a shared machine mean little without its load: the 1-minute load average and the core count
      machine: { loadAverage1m: Math.round(loadavg()[0] * 10) / 10, cores: cpus().length },
      jsGzipBytes: { value: jsGzipBytes, target: TARGETS.jsGzipBytes, ok: jsGzipBytes <= TARGETS.jsGzipBytes, raw: jsRawBytes, files: js.length },
      firstRenderMs: {
        cold: firstRenderCold,
        warm: { median: pct(warm, 0.5), p95: pct(warm, 0.95) },
        target: TARGETS.firstRenderMs,
        ok: firstRenderCold.median <= TARGETS.firstRenderMs,
        baseline: { documentResponseEndMedian: pct(docEnd, 0.5) },
        samples: cold.length
      },
      eventToScreenMs: {
        p50: pct(lat, 0.5),
        p95: pct(lat, 0.95),
        max: Math.max(...lat),
        target: TARGETS.eventToScreenP95Ms,
        ok: pct(lat, 0.95) <= TARGETS.eventToScreenP95Ms,
        baseline: { sseClientP50: pct(sse, 0.5), sseClientP95: pct(sse, 0.95) },
        samples: lat.length
      }
    }, null, 2) + '\n')
  } finally {
    stop.abort()
    await browser?.close()
    await mesh.close()
  }
}

await main()
