/**
 * `/v1/training/*`: the training subsystem's routes, one file per group (jobs, datasets) registered in one plugin
 * scope (they share the text body parsers), and their views.
 */
import type { TrainingApi } from '../../../training/index.js'
import type { ApiPlugin } from '../server.js'
import { trainingDatasetRoutes } from './training-datasets.js'
import { trainingJobRoutes } from './training-jobs.js'
import { trainingModelRoutes } from './training-model.js'

export { JobViewSchema, DatasetInfoView, RoundReportView } from './training-view.js'

/** The fastify plugin for the training routes. */
export function trainingRoutes (deps: { training: TrainingApi }): ApiPlugin {
  return (app) => {
    trainingDatasetRoutes(app, deps.training)
    trainingJobRoutes(app, deps.training)
    trainingModelRoutes(app, deps.training)
  }
}
