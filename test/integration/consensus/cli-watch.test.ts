/**
 * `meshnode proposals watch` against a running node: the daemon streams it proposal and epoch events alone
 * (`/v1/events?types=proposal.*,epoch.finalized`, which a node must accept as names of its own events).
 */
import { describe, it, expect, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { CLI, REPO_ROOT, waitFor } from '../../harness/index.js'
import { startConsensusMesh, type ConsensusMesh } from './helpers.js'

let cm: ConsensusMesh | undefined
afterAll(async () => { await cm?.mesh.close() })

describe('meshnode proposals watch', () => {
  it('prints a proposal\'s events as they happen, and nothing else the node emits', async () => {
    cm = await startConsensusMesh([100_000_000n], { consensus: { policies: { 'network-param': { mode: 'auto' } } } })
    const watch = spawn(process.execPath, [...CLI, 'proposals', 'watch', '--json', '--data-dir', cm.dirs[0]], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    watch.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
    watch.once('exit', code => { if (code !== null) stderr += `(exited ${code})` })
    const lines: Array<{ event: string, id?: string }> = []
    createInterface({ input: watch.stdout }).on('line', l => { lines.push(JSON.parse(l)) })
    try {
      // the watch subscribes a moment after it starts: propose until it has printed one, then follow that one
      const ids: string[] = []
      await waitFor(async () => {
        ids.push((await cm!.service(0).create({ kind: 'network-param', payload: { name: 'watched', value: ids.length }, ttlSeconds: 60 })).id)
        return lines.length > 0
      }, { timeoutMs: 30_000, intervalMs: 1000, what: 'the watch printing an event' }).catch((err: Error) => { throw new Error(`${err.message}; its stderr: ${stderr}`) })
      // another type on the node's bus: the daemon does not stream it to the watch
      cm.node(0).events.emit('peer.connected', { peerId: 'not-a-proposal' })
      const last = ids[ids.length - 1]
      await waitFor(() => lines.some(l => l.event === 'proposal.accepted' && l.id === last), { timeoutMs: 20_000, what: 'the last proposal accepted in the watch' })
      expect(lines.some(l => l.event === 'proposal.created' && l.id === last)).toBe(true)
      expect(lines.every(l => l.event.startsWith('proposal.') || l.event === 'epoch.finalized')).toBe(true)
    } finally {
      watch.kill('SIGINT')
    }
  }, 90_000)
})
