/**
 * The ledger subsystem's public face. Today: the generated contract bindings (`npm run contracts:build`) and the
 * EIP-712 helpers for vouchers and orders; the chain client, settlement and the market grow here.
 */
export * from './contracts/index.js'
