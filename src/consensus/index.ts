/**
 * The consensus subsystem's public face. Today: the pure seal-acceptance core that training's round machine uses;
 * proposals, votes, QCs and the epoch chain grow here (see ../shared ARCHITECTURE "Consensus").
 */
export * from './core/index.js'
