/**
 * Issue 16: the web dashboard, driven in real headless Chromium (Debian's `chromium` through playwright-core) against
 * a real 3-node mesh. Logs in through the one-time URL `meshnode dashboard` prints, then checks the node page lists
 * the two other peers, a job started through the API appears and its curve gains a point within 2 s of the round's
 * event, a pinned artifact shows (and unpins/pins from the page, which needs the CSRF header), the page loads nothing
 * from outside the node under a strict CSP, and logout ends the session. Screenshots go to test-artifacts/dashboard/.
 *
 * Without the cookie or the token every /v1 route answers 401; a login code works once; an expired one is refused
 * (the session store's clock is injected: nobody waits 60 s); a cookie session's POST without the CSRF header is 401.
 */
import { execFile, execSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { Mesh, waitFor, BIN, REPO_ROOT, type NodeHandle, freePort } from '../../harness/index.js'
import { initDataDir } from '../../../src/node/identity.js'
import type { PartialNodeOptions } from '../../../src/node/options.js'
import type { ClientError } from '../../../src/node/cli/client.js'
import { LOGIN_CODE_TTL_MS, SessionStore } from '../../../src/node/api/session.js'
import { loadDashboardAssets } from '../../../src/node/api/routes/dashboard.js'
import { formatPct } from '../../../src/node/cli/train-format.js'
import { sseEvents } from '../../../src/node/cli/train-sse.js'
import type { JobView } from '../../../src/training/service/api-types.js'

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'dashboard')

/** The Debian `chromium` binary; a clear failure when it is not installed. */
function chromiumPath (): string {
  try {
    return execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim()
  } catch {
    throw new Error('the dashboard test needs a Chromium binary: install the Debian package `chromium` (apt-get install chromium); .ci/run does it')
  }
}

/** Named events from a node's /v1/events, with the time each arrived here. */
class EventTap {
  readonly seen: Array<{ type: string, data: any, at: number }> = []
  private readonly ctrl = new AbortController()
  private constructor () {}

  static async open (base: string, token: string): Promise<EventTap> {
    const tap = new EventTap()
    const res = await fetch(`${base}/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: tap.ctrl.signal })
    expect(res.status).toBe(200)
    const body = res.body
    if (body != null) {
      void (async () => {
        for await (const ev of sseEvents(body)) tap.seen.push({ type: ev.event, data: JSON.parse(ev.data), at: Date.now() })
      })().catch(() => { /* closed */ })
    }
    return tap
  }

  close (): void { this.ctrl.abort() }
}

let mesh: Mesh | undefined
/** The mesh's nodes in data-directory order: node 0 serves the dashboard under test. */
let nodes: NodeHandle[] = []
let browser: Browser | undefined
let context: BrowserContext | undefined
let page: Page
let base: string
let token: string
let tap: EventTap | undefined
const requests: string[] = []

const raw = async (path: string, init: RequestInit = {}): Promise<Response> => await fetch(`${base}${path}`, { redirect: 'manual', ...init })
const authed = { authorization: '' }

beforeAll(async () => {
  const executablePath = chromiumPath()
  await mkdir(SHOTS, { recursive: true })
  ;[nodes, browser] = await Promise.all([startMesh(), chromium.launch({ executablePath })])
  base = nodes[0].api.baseUrl
  token = (await readFile(join(nodes[0].dataDir, 'admin.token'), 'utf8')).trim()
  authed.authorization = `Bearer ${token}`
  tap = await EventTap.open(base, token)
  await waitFor(async () => (await nodes[0].api.request<{ peers: unknown[] }>('GET', '/v1/peers')).peers.length === 2, { what: 'node 0 to see both peers' })
})

/**
 * Three in-process nodes whose genesis pre-trusts all of them with equal weight (so a proposal has an electorate and
 * needs a second yes vote: the page's button). Node 0, whose dashboard is tested, runs the ledger on its own embedded
 * anvil (the wallet page and the funding check read it); the others have it off. Node 0 starts first.
 */
async function startMesh (): Promise<NodeHandle[]> {
  const dirs = await Promise.all([0, 1, 2].map(async () => await mkdtemp(join(tmpdir(), 'meshnode-dashboard-'))))
  const ids = await Promise.all(dirs.map(async d => (await initDataDir(d)).peerId))
  const config: PartialNodeOptions = {
    ledger: { enabled: false },
    gossip: { recordMaxSkewMs: 500 },
    consensus: {
      epochIntervalMs: 2500,
      epochTtlMs: 4000,
      finalityDelayMs: 300,
      syncTimeoutMs: 2000,
      // the operator votes (here: the page's button), no node votes by itself
      policies: { 'network-param': { mode: 'manual' } },
      genesis: { params: {}, pretrusted: ids.map(peerId => ({ peerId, score: '1000000000000' })), guardians: { keys: [], threshold: 0 }, startedAt: 0 }
    }
  }
  mesh = new Mesh()
  for (const d of dirs) mesh.defer(async () => { await rm(d, { recursive: true, force: true }) })
  const first = await mesh.add({ mode: 'inprocess', dataDir: dirs[0], config: { ...config, ledger: { enabled: true, anvil: { port: await freePort() } } } })
  await Promise.all(dirs.slice(1).map(async d => await mesh!.add({ mode: 'inprocess', dataDir: d, config, bootstrap: first.addresses })))
  return dirs.map(d => mesh!.nodes.find(n => n.dataDir === d) as NodeHandle)
}

afterAll(async () => {
  tap?.close()
  await context?.close()
  await browser?.close()
  await mesh?.close()
})

describe('dashboard auth', () => {
  it('serves the page without credentials, under a strict CSP, and keeps every /v1 route at 401 without cookie or token', async () => {
    const index = await raw('/')
    expect(index.status).toBe(200)
    const csp = index.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    const page = await index.text()
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    // every module the node serves is preloaded by the page (no import waterfall), and each preload exists
    const listed = [...page.matchAll(/<(?:link rel="modulepreload"|script type="module") (?:href|src)="([^"]+)"/g)].map(m => m[1]).sort()
    expect(listed).toEqual([...loadDashboardAssets().keys()].filter(p => p.endsWith('.js')).sort())
    // the routes the page reads, and the dashboard's own
    for (const [method, path] of [['GET', '/v1/node'], ['GET', '/v1/peers'], ['GET', '/v1/events'], ['GET', '/v1/training/jobs'], ['GET', '/v1/artifacts'],
      ['GET', '/v1/dashboard/session'], ['POST', '/v1/dashboard/login-codes'], ['POST', '/v1/dashboard/logout'], ['GET', '/v1/nope']]) {
      const res = await raw(path, { method })
      expect(res.status, `${method} ${path}`).toBe(401)
      expect((await res.json() as { error: { code: string } }).error.code).toBe('ERR_UNAUTHORIZED')
    }
    // a forged cookie is no session
    expect((await raw('/v1/node', { headers: { cookie: `meshnode_session_${new URL(base).port}=forged` } })).status).toBe(401)
  })

  it('trades a login code once for an HttpOnly SameSite=Strict cookie; CSRF header needed on POST; logout ends it', async () => {
    const { path } = await (await raw('/v1/dashboard/login-codes', { method: 'POST', headers: authed })).json() as { path: string }
    const login = await raw(path)
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe('/')
    const setCookie = login.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
    const cookie = setCookie.split(';')[0]
    // used: refused the second time
    const again = await raw(path)
    expect(again.status).toBe(401)
    expect(again.headers.get('set-cookie')).toBeNull()

    const session = await (await raw('/v1/dashboard/session', { headers: { cookie } })).json() as { via: string, csrf: string, csrfHeader: string }
    expect(session.via).toBe('cookie')
    expect((await raw('/v1/node', { headers: { cookie } })).status).toBe(200)
    // the cookie alone cannot change state; with the session's CSRF value it can
    const noCsrf = await raw('/v1/dashboard/login-codes', { method: 'POST', headers: { cookie } })
    expect(noCsrf.status).toBe(401)
    expect((await noCsrf.json() as { error: { message: string } }).error.message).toContain(session.csrfHeader)
    expect((await raw('/v1/dashboard/login-codes', { method: 'POST', headers: { cookie, [session.csrfHeader]: 'wrong' } })).status).toBe(401)
    expect((await raw('/v1/dashboard/login-codes', { method: 'POST', headers: { cookie, [session.csrfHeader]: session.csrf } })).status).toBe(201)
    // the session belongs to this node's port only: another node of the mesh on the same host does not take it
    const other = nodes[1].api.baseUrl
    expect((await fetch(`${other}/v1/node`, { headers: { cookie: cookie.replace(/_\d+=/, `_${new URL(other).port}=`) } })).status).toBe(401)

    const out = await raw('/v1/dashboard/logout', { method: 'POST', headers: { cookie, [session.csrfHeader]: session.csrf } })
    expect(await out.json()).toEqual({ loggedOut: true })
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/)
    expect((await raw('/v1/node', { headers: { cookie } })).status).toBe(401)
  })

  it('refuses an expired login code (the store on a clock of its own)', () => {
    let now = 1_000_000
    const store = new SessionStore(() => now)
    const { code } = store.createCode()
    const { code: fresh } = store.createCode()
    now += LOGIN_CODE_TTL_MS
    expect(store.redeem(code)).toBeUndefined()
    now -= 1
    expect(store.redeem(fresh)).toBeDefined()
    expect(store.redeem(fresh)).toBeUndefined()
    expect(store.redeem('never-minted')).toBeUndefined()
  })
})

describe('dashboard in Chromium', () => {
  it('logs in through the one-time URL and lists the two other peers on the node page', async () => {
    // the real CLI mints the URL, with the admin token the browser never sees (async: the nodes run in this process)
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'dashboard', '--json', '--data-dir', nodes[0].dataDir], { encoding: 'utf8', timeout: 20_000 })
    const out = JSON.parse(stdout) as { url: string }
    expect(out.url).toMatch(new RegExp(`^${base}/login\\?code=`))
    context = await browser!.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    page.on('request', r => { requests.push(r.url()) })
    const nav = await page.goto(out.url)
    expect(nav?.status()).toBe(200)
    expect(nav?.headers()['content-security-policy']).toContain("default-src 'self'")
    expect(new URL(page.url()).pathname).toBe('/')
    const cookies = await context.cookies()
    expect(cookies.find(c => c.name.startsWith('meshnode_session_'))).toMatchObject({ httpOnly: true, sameSite: 'Strict' })

    await page.waitForSelector('[data-testid=node-info]')
    expect(await page.locator('[data-peer-id]').getAttribute('data-peer-id')).toBe(nodes[0].peerId)
    for (const n of nodes.slice(1)) {
      await page.locator(`#peers tr[data-peer="${n.peerId}"]`).waitFor()
      await page.locator(`.peer-map [data-peer="${n.peerId}"]`).waitFor()
    }
    expect(await page.locator('#peers tbody tr').count()).toBe(2)
    await page.locator('[data-check=peers][data-ok=true]').waitFor()
    await page.screenshot({ path: join(SHOTS, 'node-1280x800.png') })
  })

  it('shows a job started through the API, whose curve gains a point within 2 s of each round event', async () => {
    await page.goto(`${base}/#/training`)
    await page.locator('form.create').waitFor()
    const { id } = await nodes[0].api.request<{ id: string }>('POST', '/v1/training/jobs', {
      json: { model: { arch: 'mlp', layers: [16, 10], seed: 1 }, dataset: 'digits', rounds: 3, minParticipants: 3, localEpochs: 1, batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32' }
    })
    const card = page.locator(`[data-job="${id}"]`)
    await card.waitFor({ timeout: 5000 })
    await waitFor(async () => (await Promise.all(nodes.map(async n => await n.api.fetch('GET', `/v1/training/jobs/${id}`).then(() => true, () => false)))).every(Boolean), { what: 'the announcement to reach every node' })
    await Promise.all(nodes.map(async (n, i) => await n.api.request('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits', partition: { scheme: 'iid', index: i, of: 3, seed: 7 } } })))

    const plot = card.locator('.curve-plot')
    for (let round = 0; round < 2; round++) {
      const ev = await waitFor(() => tap!.seen.find(e => e.type === 'training.round' && e.data.jobId === id && e.data.round === round), { timeoutMs: 60_000, intervalMs: 20, what: `round ${round}'s event` })
      // the point is on screen within 2 s of the event reaching a client of the same stream
      await page.waitForFunction(([sel, n]) => Number((globalThis as any).document.querySelector(sel)?.getAttribute('data-points') ?? 0) >= (n as number),
        [`[data-job="${id}"] .curve-plot`, round + 1], { timeout: Math.max(1, 2000 - (Date.now() - ev.at)), polling: 'raf' })
      expect(Date.now() - ev.at).toBeLessThan(2000)
    }
    expect(Number(await plot.getAttribute('data-points'))).toBeGreaterThanOrEqual(2)
    // the figures are the ones `train status` prints: the job's pooled accuracy (this node's where none is pooled)
    await waitFor(async () => {
      const v = await nodes[0].api.request<JobView>('GET', `/v1/training/jobs/${id}`)
      const last = [...v.rounds].sort((a, b) => a.round - b.round).at(-1)
      const want = formatPct(last?.pooled?.accuracy ?? last?.accuracy)
      const shown = (await card.locator('dt:text-is("accuracy") + dd').textContent()) ?? ''
      return shown.startsWith(want) ? true : undefined
    }, { timeoutMs: 10_000, what: 'the card to show the pooled accuracy train status prints' })
    expect(await card.locator('.badge').textContent()).toMatch(/running|joined|finished/)
    await page.screenshot({ path: join(SHOTS, 'training-1280x800.png') })
    // Export downloads the model with the session cookie
    const href = await card.getByRole('link', { name: 'Export model' }).getAttribute('href')
    const exported = await page.evaluate(async (u: string) => { const r = await fetch(u); return { status: r.status, keys: Object.keys(await r.json() as object) } }, href ?? '')
    expect(exported).toEqual({ status: 200, keys: expect.arrayContaining(['model.json', 'weights.bin', 'meshnode.json']) })
    // the create form announces a job (POST with the CSRF header); it appears without a reload
    const before = await page.locator('[data-job]').count()
    await page.fill('form.create input[pattern]', '8,10')
    await page.getByRole('button', { name: 'Create and announce' }).click()
    await waitFor(async () => await page.locator('[data-job]').count() === before + 1 ? true : undefined, { timeoutMs: 5000, what: 'the created job\'s card' })
    const { jobs } = await nodes[0].api.request<{ jobs: JobView[] }>('GET', '/v1/training/jobs')
    expect(jobs.filter(j => j.spec.model.arch === 'mlp' && JSON.stringify((j.spec.model as { layers?: number[] }).layers) === '[8,10]')).toHaveLength(1)
  })

  it('shows a pinned artifact, and unpins and pins it from the page', async () => {
    const res = await nodes[0].api.request<{ cid: string }>('POST', '/v1/artifacts', { query: { name: 'dashboard-test.bin', kind: 'other' }, body: new Uint8Array(4096).fill(7) })
    await page.goto(`${base}/#/artifacts`)
    const row = page.locator(`#artifacts tr[data-cid="${res.cid}"]`)
    await row.waitFor()
    expect(await row.getAttribute('data-local')).toBe('true')
    expect(await row.textContent()).toContain('4.0 KiB')
    await page.fill('input[type=search]', 'dashboard-test')
    expect(await page.locator('#artifacts tbody tr').count()).toBe(1)
    await page.screenshot({ path: join(SHOTS, 'artifacts-1280x800.png') })
    // buttons post with the session cookie and its CSRF header
    await row.getByRole('button', { name: 'Unpin' }).click()
    await page.locator(`#artifacts tr[data-cid="${res.cid}"][data-local="false"]`).waitFor()
    await row.getByRole('button', { name: 'Pin' }).click()
    await page.locator(`#artifacts tr[data-cid="${res.cid}"][data-local="true"]`).waitFor()
  })

  it('fits a phone, says which pages this node cannot serve, requests nothing outside the node, and logs out', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${base}/#/node`)
    await page.locator('[data-testid=node-info]').waitFor()
    const overflow = await page.evaluate(() => { const el = (globalThis as any).document.documentElement; return el.scrollWidth - el.clientWidth as number })
    expect(overflow).toBeLessThanOrEqual(0)
    await page.screenshot({ path: join(SHOTS, 'node-phone.png'), fullPage: true })
    await page.setViewportSize({ width: 1280, height: 800 })
    // a proposal made on another node shows here, live; "not available" where this node has no consensus routes
    const api0 = nodes[0].api
    const hasConsensus = await api0.fetch('GET', '/v1/proposals').then(() => true, () => false)
    await page.goto(`${base}/#/proposals`)
    await page.locator('h1#proposals-h').waitFor()
    if (hasConsensus) {
      // made on node 1 (which votes yes with it: about 1/3 of the weight), pending here until this page votes yes
      const { id } = await nodes[1].api.request<{ id: string }>('POST', '/v1/proposals', { json: { kind: 'network-param', payload: { name: 'dashboard.test', value: 1 }, ttlSeconds: 600 } })
      const card = page.locator(`.proposal[data-proposal="${id}"]`)
      await card.locator('.tally').waitFor({ timeout: 10_000 })
      await page.screenshot({ path: join(SHOTS, 'proposals-pending-1280x800.png') })
      await card.getByRole('button', { name: 'Vote yes' }).click()
      const voted = await waitFor(async () => {
        const p = await api0.request<{ status: string, votes: Array<{ voter: string }> }>('GET', `/v1/proposals/${id}`)
        return p.votes.some(v => v.voter === nodes[0].peerId) ? p : undefined
      }, { timeoutMs: 20_000, what: 'the page\'s vote on node 0' })
      // the training above went through consensus and earned the three nodes work credit at the epochs since, so
      // their weights need no longer be equal: two of three may hold less than 2/3. Node 2 then completes the QC
      // (node 2 may hold the QC already, node 0 not yet: then its vote is refused as closed, and the QC is there)
      if (voted.status === 'pending') {
        await nodes[2].api.request('POST', `/v1/proposals/${id}/votes`, { json: { choice: 'yes' } })
          .catch((err: ClientError) => { if (err.code !== 'ERR_CLOSED') throw err })
      }
      await page.locator(`#proposal-history tr[data-proposal="${id}"]:has-text("accepted")`).waitFor({ timeout: 20_000 })
      // the reputation table lists the three pre-trusted peers
      await page.locator('#reputation tbody tr').nth(2).waitFor({ timeout: 20_000 })
    } else {
      await page.locator('.not-available').first().waitFor()
    }
    await page.screenshot({ path: join(SHOTS, 'proposals-1280x800.png') })
    // the wallet block shows the funded wallet of node 0's own chain (the ledger starts in the background: wait)
    const wallet = await waitFor(async () => await api0.request<{ address: string, ftns: string }>('GET', '/v1/wallet').catch(() => undefined), { timeoutMs: 60_000, what: 'node 0\'s ledger' })
    await page.goto(`${base}/#/wallet`)
    await page.locator(`[data-route="/v1/wallet"] [data-ftns="${wallet.ftns}"]`).waitFor()
    expect(await page.locator('[data-route="/v1/wallet"]').textContent()).toContain(wallet.address)
    await page.locator('[data-route="/v1/ledger/settlements"] h2').waitFor()
    // a route this node does not serve (the market's, until it exists) says so instead of failing the page
    const market = await api0.fetch('GET', '/v1/market/books').then(() => 'served', (e: { status?: number, message?: string }) => e.status === 404 && /^no route/.test(e.message ?? '') ? 'absent' : 'error')
    if (market === 'absent') await page.locator('[data-route="/v1/market/books"] .not-available').waitFor()
    await page.goto(`${base}/#/why`)
    await page.locator(`[data-check=wallet][data-ok="${String(Number(wallet.ftns) > 0)}"]`).waitFor()
    await page.goto(`${base}/#/wallet`)
    await page.locator(`[data-route="/v1/wallet"] [data-ftns="${wallet.ftns}"]`).waitFor()
    await page.screenshot({ path: join(SHOTS, 'wallet-1280x800.png') })

    const origin = new URL(base).origin
    expect(requests.length).toBeGreaterThan(10)
    expect(requests.filter(u => !u.startsWith(origin + '/') && !u.startsWith('data:'))).toEqual([])

    await page.getByRole('button', { name: 'Log out' }).click()
    await page.locator('.signed-out').waitFor()
    expect(await page.evaluate(async () => (await fetch('/v1/node')).status)).toBe(401)
    await page.screenshot({ path: join(SHOTS, 'signed-out.png') })
  })
})
