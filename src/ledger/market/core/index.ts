/** The market's pure core: books with price-time priority, takers' plans, matching, depth, normalised prices. */
export * from './book.js'
export * from './metering.js'
export * from './normalise.js'
export * from './plan.js'
export * from './prices.js'
export * from './side.js'
export * from './types.js'
