/**
 * The pure consensus core: seal acceptance (training's round machine), and the reputation-weighted machinery: weights
 * and snapshots, tallies, QC verification, the epoch transition, the reputation hash and operator policy.
 */
export * from './seal-acceptance.js'
export * from './verified-majority.js'
export * from './reputation.js'
export * from './params.js'
export * from './weights.js'
export * from './tally.js'
export * from './qc.js'
export * from './bls.js'
export * from './bls-votes.js'
export * from './epoch.js'
export * from './epoch-lock.js'
export * from './credit.js'
export * from './hash.js'
export * from './policy.js'
export * from './explain.js'
