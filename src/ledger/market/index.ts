/**
 * The FTNS market: signed compute and trade orders (protocol/), books and matching (core/, pure), the books a node
 * keeps (books.ts), the refusal reasons every declined order or fill carries (errors.ts), and the funding check
 * against chain state (funding.ts).
 */
export * from './books.js'
export * from './core/index.js'
export * from './errors.js'
export * from './funding.js'
export * from './protocol/index.js'
export * from './service/index.js'
