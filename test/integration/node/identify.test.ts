import { describe, it, expect, afterAll } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { Mesh, waitFor } from '../../harness/index.js'
import { VERSION } from '../../../src/node/version.js'

describe('identify', () => {
  let mesh: Mesh | undefined
  afterAll(async () => { await mesh?.close() })

  it('tells other peers the agent meshnode/<version>', async () => {
    mesh = await Mesh.start(2, { mode: 'inprocess' })
    const a = mesh.meshNode(0)
    const b = peerIdFromString(mesh.nodes[1].peerId)
    const agent = await waitFor(async () => {
      const peer = await a.libp2p.peerStore.get(b).catch(() => undefined)
      const v = peer?.metadata.get('AgentVersion')
      return v == null ? undefined : new TextDecoder().decode(v)
    }, { what: 'identify to record the other node\'s agent' })
    expect(agent).toBe(`meshnode/${VERSION}`)
  })
})
