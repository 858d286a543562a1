/**
 * The training subsystem's public face: the service factory, its typed API (requests, views), options, errors and
 * events. Other subsystems and the composition root import training only from here.
 */
export { TrainingService, type TrainingServiceInit, type TrainingServiceComponents } from './service/service.js'
export * from './service/api-types.js'
export { TrainingOptionsSchema, defaultTrainingOptions, type TrainingOptions } from './options.js'
export { TrainingError, TRAINING_ERRORS, type TrainingErrorCode } from './errors.js'
export { trainingEvents, type TrainingEvents } from './events.js'
