/** The training service (a facade over the job runner, the round work and the reports) and what the API sees of it. */
export { TrainingService } from './service.js'
export * from './components.js'
export * from './api-types.js'
