/** The consensus records: schemas, checks, signing domains, the topic and sync protocol, canonical ids. */
export * from './topic.js'
export * from './schemas.js'
export * from './checks.js'
export * from './canonical.js'
export * from './records.js'
export * from './verify.js'
