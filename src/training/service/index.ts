/** The training service (the shell around the round machine) and what the API sees of it. */
export { TrainingService, type TrainingServiceInit, type TrainingServiceComponents } from './service.js'
export * from './api-types.js'
