/**
 * Runtime shims that must load before libp2p or Helia are imported.
 * libp2p 3 and Helia call Promise.withResolvers, which Node only ships from 22.
 */
type Resolvers<T> = { promise: Promise<T>; resolve: (v: T | PromiseLike<T>) => void; reject: (e?: unknown) => void }

// the ES2023 lib does not declare withResolvers: widen the constructor's type by the optional method
const P: PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> } = Promise
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T> (): Resolvers<T> {
    let resolve!: Resolvers<T>['resolve']
    let reject!: Resolvers<T>['reject']
    const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
    return { promise, resolve, reject }
  }
}

export {}
