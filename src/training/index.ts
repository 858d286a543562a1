/**
 * The training subsystem's public face: the service factory, its typed API (requests, views), options, errors and
 * events. Other subsystems and the composition root import training only from here.
 */
import { TrainingService } from './service/service.js'
import type { TrainingServiceComponents, TrainingServiceInit } from './service/components.js'

export { TrainingService }
export type {
  TrainingServiceInit, TrainingServiceComponents, TrainingArtifacts, TrainingState, TrainingGossip, TrainingPenalties
} from './service/components.js'

/** The training service factory: `training(init)(components)`. */
export function training (init: TrainingServiceInit): (components: TrainingServiceComponents) => TrainingService {
  return components => new TrainingService(components, init)
}
export * from './service/api-types.js'
export * from './protocol/index.js'
export { TrainingOptionsSchema, defaultTrainingOptions, type TrainingOptions } from './options.js'
export { TrainingError, TRAINING_ERRORS, type TrainingErrorCode } from './errors.js'
export { trainingEvents, type TrainingEvents } from './events.js'
export { createTrainingMetrics, type TrainingMetrics } from './metrics.js'
