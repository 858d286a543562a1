/** The consensus shell: the service, its kind registry and the API schemas. */
export { consensus, ConsensusService, type ConsensusInit, type ConsensusComponents } from './service.js'
export { KindRegistry, type ProposalKind, type KindContext, type WorkRecord } from './kinds.js'
export { EPOCH_KIND, EpochPayloadSchema, type EpochPayload } from './epochs.js'
export { NetworkParamPayloadSchema, BanPeerPayloadSchema } from './builtin-kinds.js'
export { EpochChain, type EpochEntry } from './chain.js'
export type { ConsensusState } from './store.js'
export * from './api-schemas.js'
