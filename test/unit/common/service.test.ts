import { describe, it, expect } from 'vitest'
import { ServiceList, type Service } from '../../../src/common/service.js'

function recorder (): { log: string[], service: (name: string, fail?: 'start' | 'stop') => Service } {
  const log: string[] = []
  return {
    log,
    service: (name, fail) => ({
      start: () => { if (fail === 'start') throw new Error(`${name} cannot start`); log.push(`start ${name}`) },
      stop: async () => { if (fail === 'stop') throw new Error(`${name} cannot stop`); log.push(`stop ${name}`) }
    })
  }
}

describe('ServiceList', () => {
  it('starts in order and stops in reverse, resources added in between included', async () => {
    const { log, service } = recorder()
    const list = new ServiceList(() => {})
    await list.start('a', service('a'))
    list.add('store', () => { log.push('close store') })
    await list.start('b', service('b'))
    await list.stopAll()
    expect(log).toEqual(['start a', 'start b', 'stop b', 'close store', 'stop a'])
  })

  it('stops what was started when a start fails, and rethrows', async () => {
    const { log, service } = recorder()
    const list = new ServiceList(() => {})
    await list.start('a', service('a'))
    await expect(list.start('b', service('b', 'start'))).rejects.toThrow('b cannot start')
    expect(log).toEqual(['start a', 'stop a'])
  })

  it('reports a failing stop and still stops the rest; a second stopAll does nothing', async () => {
    const { log, service } = recorder()
    const failures: string[] = []
    const list = new ServiceList((name, err) => { failures.push(`${name}: ${(err as Error).message}`) })
    await list.start('a', service('a'))
    await list.start('b', service('b', 'stop'))
    await list.start('c', service('c'))
    await list.stopAll()
    await list.stopAll()
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop a'])
    expect(failures).toEqual(['b: b cannot stop'])
  })
})
