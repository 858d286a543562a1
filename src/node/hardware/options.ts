/** The node's `hardware` and `resources` option sections: schema and defaults, composed by src/node/options.ts. */
import { Type, type Static } from '@sinclair/typebox'

/** The `hardware` section: how often the record is advertised and whether training speed is measured at start. */
export const HardwareOptionsSchema = Type.Object({
  advertiseIntervalMs: Type.Integer({ minimum: 1000 }),
  /** Run the short training micro-benchmark at start (turn off for fast test meshes). */
  benchmark: Type.Boolean(),
  benchmarkMs: Type.Integer({ minimum: 100, maximum: 60_000 })
}, { additionalProperties: false })

/** The hardware options. */
export type HardwareOptions = Static<typeof HardwareOptionsSchema>

/** Defaults of the hardware options. */
// adverts every 30 minutes: peers fetch a newcomer's record over the stream protocol when they identify it, and a
// changed record is published at once, so the periodic advert only refreshes peers that are not connected to us.
// Each advert crosses every node of the mesh: every 5 minutes, in a 20-node mesh at rest, forwarding them was a
// quarter of each node's CPU (bench/soak.ts, profiled)
export const defaultHardwareOptions: HardwareOptions = { advertiseIntervalMs: 1_800_000, benchmark: true, benchmarkMs: 1500 }

/** The `resources` section: what the node lends to training (advertised in its hardware record). */
export const ResourcesOptionsSchema = Type.Object({
  trainingThreads: Type.Integer({ minimum: 1, maximum: 256 }),
  maxMemoryMB: Type.Integer({ minimum: 64 }),
  dutyCycle: Type.Number({ minimum: 0.01, maximum: 1 })
}, { additionalProperties: false })

/** The resource caps. */
export type ResourcesOptions = Static<typeof ResourcesOptionsSchema>

/** Defaults of the resource caps (profiles override them). */
export const defaultResourcesOptions: ResourcesOptions = { trainingThreads: 2, maxMemoryMB: 2048, dutyCycle: 1 }
