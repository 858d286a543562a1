/** A FIFO async mutex: TensorFlow.js work (training, evaluation) runs one task at a time on a node. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn)
    this.tail = p.catch(() => {})
    return await p
  }
}
