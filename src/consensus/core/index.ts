/** The pure consensus core: seal acceptance (votes -> outcome) and the reputation view. */
export * from './seal-acceptance.js'
export * from './verified-majority.js'
export * from './reputation.js'
