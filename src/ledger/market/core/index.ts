/**
 * The market's pure core: books with price-time priority, takers' plans, matching, depth, normalised prices, funding
 * shared across a maker's orders, and asks pending on their maker's hardware record.
 */
export * from './book.js'
export * from './commitments.js'
export * from './metering.js'
export * from './normalise.js'
export * from './pending.js'
export * from './plan.js'
export * from './prices.js'
export * from './side.js'
export * from './types.js'
