/** In-process federated simulations: the no-network reference the mesh is compared with. */
export { simulateFederated, type SimulationOptions, type SimulationResult, type SimulatedRound } from './reference.js'
