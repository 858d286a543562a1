import { describe, it, expect } from 'vitest'
import { Driver, M0, deltaMsg, jobWith } from './driver.js'

/** What a stalled round reports (logged at info level by the job runner once a round needs another attempt). */
describe('JobMachine.stall: why a round does not move', () => {
  it('names the electorate members that stopped answering when they are needed for a majority', () => {
    const job = jobWith({ minParticipants: 2 })
    const d = new Driver('p1', job)
    d.setup(true, ['p0', 'p1'])
    d.msg('p0', deltaMsg(job, 'p0'))
    const own = deltaMsg(job, 'p1')
    d.send({ kind: 'local-delta-ready', round: 0, baseModelCid: M0, cid: own.cid, samples: own.samples, bytes: own.bytes, metrics: own.metrics })
    expect(d.m.view().phase).toBe('sealing')
    expect(d.m.stall()?.reason).toMatch(/seal|aggregat/)
    // p0 goes silent: three attempts later it has promised nothing, and a majority of two needs it
    d.tick(3000); d.tick(3000); d.tick(3000)
    const s = d.m.stall()
    expect(s).toMatchObject({ round: 0, attempt: 3, electorate: ['p0', 'p1'], majority: 2, silent: ['p0'] })
    expect(s?.reason).toBe('only 1 of 2 electorate members answer, 2 needed (p0 silent); half is gone: after attempt 3 the job\'s creator (p0) names the live half the electorate')
  })

  it('is null before the round starts', () => {
    const d = new Driver('p1', jobWith({ minParticipants: 2 }))
    expect(d.m.stall()).toBeNull()
  })
})
