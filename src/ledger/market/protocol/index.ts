/** The market's wire records: schemas, checks, conversion to the contract bindings, signatures, topics. */
export * from './checks.js'
export * from './convert.js'
export * from './message.js'
export * from './resource-class.js'
export * from './schemas.js'
export * from './topic.js'
export * from './verify.js'
