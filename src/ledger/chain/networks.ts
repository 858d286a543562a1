/**
 * The networks and their rules (ARCHITECTURE.md, "Ledger and market rules"): `local` (the embedded anvil, chain 31337)
 * credits after 1 block and bids what the node suggests; Polygon (137) and Amoy (80002) credit at the `finalized` tag
 * (depth 500 while finality lags > 60 s) and bid at least the 25 gwei priority floor their RPC nodes enforce.
 */
import { feePolicyFor } from './core/fees.js'
import type { ChainNetworkName, ConfirmationRule, FeePolicy, NetworkProfile } from './types.js'

const POLYGON_CONFIRMATION: ConfirmationRule = { kind: 'finalized', fallbackDepth: 500, maxLagMs: 60_000 }

/** The built-in profiles. */
export const NETWORKS: Readonly<Record<ChainNetworkName, NetworkProfile>> = Object.freeze({
  local: { name: 'local', chainId: 31337n, automine: true, confirmation: { kind: 'blocks', depth: 1 }, fees: feePolicyFor(31337n) },
  amoy: { name: 'amoy', chainId: 80002n, automine: false, confirmation: POLYGON_CONFIRMATION, fees: feePolicyFor(80002n) },
  polygon: { name: 'polygon', chainId: 137n, automine: false, confirmation: POLYGON_CONFIRMATION, fees: feePolicyFor(137n) }
})

/** What a deployment or a test may change in a profile. */
export interface NetworkOverrides {
  chainId?: bigint
  automine?: boolean
  confirmation?: ConfirmationRule
  fees?: Partial<FeePolicy>
}

/** The profile of `name`, with `overrides` applied (e.g. a test anvil with automine off, or a deeper local depth). */
export function networkProfile (name: ChainNetworkName, overrides: NetworkOverrides = {}): NetworkProfile {
  const base = NETWORKS[name]
  return {
    name,
    chainId: overrides.chainId ?? base.chainId,
    automine: overrides.automine ?? base.automine,
    confirmation: overrides.confirmation ?? base.confirmation,
    fees: { ...base.fees, ...overrides.fees }
  }
}

/** The network whose chain id is `chainId`, if meshnode knows it. */
export function networkForChainId (chainId: bigint): ChainNetworkName | undefined {
  for (const p of Object.values(NETWORKS)) if (p.chainId === chainId) return p.name
  return undefined
}
