/**
 * The numeric limits of the training contract. The schemas in job-schema.ts, messages.ts and requests.ts read them;
 * the round machine reads the few it needs at run time. Nothing else states them.
 */

/** Bounds every node enforces on training messages and announced jobs. */
export const TRAINING_LIMITS = {
  /** round < maxRounds; also the largest `rounds` a job may ask for. */
  maxRounds: 10_000,
  /** Seal attempts per round (each moves to the next aggregator in rotation). */
  maxAttempts: 1024,
  /** samples must be in [1, maxSamples). */
  maxSamples: 1e9,
  /** Participants per job, and so deltas per seal. */
  maxParticipants: 256,
  /** Largest encoded delta a DeltaAnnounce may advertise (1 GiB). */
  maxDeltaBytes: 2 ** 30,
  maxLocalEpochs: 1000,
  maxBatchSize: 1_000_000,
  maxLearningRate: 10,
  maxDeadlineK: 100,
  /** Upper bound of every timing field (7 days). */
  maxTimingMs: 7 * 24 * 3600 * 1000
} as const

/** Limits that keep a hostile or mistyped model spec from exhausting a node's memory. */
export const MODEL_LIMITS = { maxLayers: 16, maxUnits: 65_536, maxParams: 50_000_000, maxInputDim: 1 << 20 } as const

/**
 * What the admin API takes where it is narrower than the wire: a job created here stays well inside what peers
 * accept, and seeds are unsigned 32-bit so every RNG in the stack takes them as they are.
 */
export const REQUEST_LIMITS = {
  maxSeed: 0xffff_ffff,
  maxUnits: 4096,
  maxBatchSize: 100_000,
  /** Dataset shares a node may split a dataset into (simulations). */
  maxShares: 10_000,
  maxDirichletAlpha: 1000
} as const

/** Largest int8 block size (values per float32 scale) a delta may use. */
export const MAX_INT8_BLOCK = 65536

/** Largest dataset upload (the text body of `POST /v1/training/datasets/{name}`). */
export const MAX_DATASET_UPLOAD_BYTES = 64 * 1024 * 1024

/**
 * Most classes a dataset may hold: the widest output layer a job created here may have (`REQUEST_LIMITS.maxUnits`).
 * A label beyond it is refused at import rather than imported as a dataset nobody can train.
 */
export const MAX_CLASSES = REQUEST_LIMITS.maxUnits
