/**
 * The consensus subsystem's public face: the pure core (seal acceptance for training's round machine; weights,
 * tallies, QCs, the epoch chain, reputation hash, operator policy) and the records (proposal, vote, QC, evidence,
 * veto) with their schemas and checks; the service (gossip, sync, storage, the kind registry) and its API schemas.
 */
export * from './core/index.js'
export * from './protocol/index.js'
export * from './errors.js'
export * from './options.js'
export * from './events.js'
export * from './metrics.js'
export * from './service/index.js'
export { readGenesisFile, writeGenesisToConfig } from './genesis.js'
