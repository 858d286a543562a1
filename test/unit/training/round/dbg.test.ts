import { it } from 'vitest'
import { Sim } from './sim.js'
it('dbg', () => {
  const sim = new Sim(5)
  sim.joinAll()
  const orig = sim.dispatch.bind(sim)
  sim.dispatch = (node, ev) => { if (ev.kind !== 'tick' && ev.kind !== 'message') console.log(sim.now - 1.7e12, node.id, ev.kind, (ev as any).round); if (ev.kind === 'message' && (ev.msg.type === 'delta' || ev.msg.type==='seal') && node.id === 'p1') console.log(sim.now - 1.7e12, 'p1 <-', ev.from, ev.msg.type, (ev.msg as any).round); orig(node, ev) }
  sim.run(() => sim.allFinished())
  console.log(sim.nodes.flatMap(n => n.log.seals).map(s => [s.round, s.attempt, s.deltas.map(d => d.peerId).join()]))
  console.log(sim.nodes.map(n => n.log.accepted.map(a => a.round)))
})
