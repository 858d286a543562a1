/**
 * The consensus subsystem's public face: the pure core (seal acceptance for training's round machine; weights,
 * tallies, QCs, the epoch chain, reputation hash, operator policy) and the records (proposal, vote, QC, evidence,
 * veto) with their schemas and checks. The service (gossip, sync, storage, API) grows here next (see ../shared
 * ARCHITECTURE "Consensus").
 */
export * from './core/index.js'
export * from './protocol/index.js'
export * from './errors.js'
