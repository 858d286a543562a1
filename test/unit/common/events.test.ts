import { describe, it, expect } from 'vitest'
import { Type } from '@sinclair/typebox'
import { EventBus, defineEvents, type AnyEvent, type EventSink, type EventsOf } from '../../../src/common/events.js'

const partEvents = defineEvents({ 'part.done': Type.Object({ id: Type.String() }) })
const allEvents = defineEvents({ ...partEvents, 'other.thing': Type.Object({ n: Type.Integer() }) })
type PartEvents = EventsOf<typeof partEvents>
type AllEvents = EventsOf<typeof allEvents>

/** A subsystem that may emit only its own events. */
function part (sink: EventSink<PartEvents>): void {
  sink.emit('part.done', { id: 'x' })
}

describe('EventBus', () => {
  it('joins event maps by spreading them', () => {
    expect(Object.keys(allEvents)).toEqual(['part.done', 'other.thing'])
  })

  it('is a sink for any subset of its events and delivers typed events with a time', () => {
    const bus = new EventBus<AllEvents>(() => 42)
    const seen: Array<AnyEvent<AllEvents>> = []
    const unsubscribe = bus.subscribe(e => { seen.push(e) })
    part(bus)
    bus.emit('other.thing', { n: 1 })
    unsubscribe()
    bus.emit('other.thing', { n: 2 })
    expect(seen).toEqual([{ type: 'part.done', at: 42, data: { id: 'x' } }, { type: 'other.thing', at: 42, data: { n: 1 } }])
  })

  it('isolates a throwing listener', () => {
    const bus = new EventBus<AllEvents>()
    const seen: string[] = []
    bus.subscribe(() => { throw new Error('listener bug') })
    bus.subscribe(e => { seen.push(e.type) })
    bus.emit('part.done', { id: 'y' })
    expect(seen).toEqual(['part.done'])
  })
})
