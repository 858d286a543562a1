/**
 * The TensorFlow.js shell of training: backend selection, models built deterministically from specs, flat weight
 * exchange, local SGD, evaluation and the speed probe.
 */
export { initBackend, backendInfo, setThreads, canTrain, WASM_DIST_DIR, type BackendInfo, type BackendPreference } from './backend.js'
export {
  MODEL_PRESETS, MODEL_LIMITS, CNN_CONFIG, modelPreset, validateModelSpec, resolveInputShape, outputClasses, modelId,
  weightPlan, modelManifest, type ModelSpec, type ModelPresetName, type InputSource, type WeightPlan
} from './spec.js'
export { initialWeights } from './init.js'
export { buildModel, getFlatWeights, setFlatWeights, modelWeightsManifest, type Model, type FlatWeights } from './build.js'
export {
  trainLocal, evaluate, predictProba, modelIo,
  type TrainData, type TrainOptions, type TrainResult, type TrainProgress, type EvalResult
} from './train.js'
export { measureTrainingSpeed, type TrainingSpeed, type TrainingSpeedOptions } from './benchmark.js'
export { deriveSeed } from './seeds.js'
