/**
 * The one service shape (js-libp2p style): a subsystem exports a factory `xxx(init)(components)` where `init` holds
 * its serializable options and `components` names only the dependencies it uses; the result implements `start()` /
 * `stop()`, both idempotent. The composition root starts a list in order and stops it in reverse.
 */

/** A started-and-stopped part of the node. */
export interface Service {
  start: () => Promise<void> | void
  stop: () => Promise<void> | void
}

/** `xxx(init)(components)`: options first (serializable), dependencies second. */
export type ServiceFactory<Init, Components, S extends Service = Service> = (init: Init) => (components: Components) => S

/** A service with the name it is logged under. */
export interface NamedService { name: string, service: Service }

/** Logs a step's failure without stopping the others. */
export type StopFailure = (name: string, err: unknown) => void

/**
 * Starts services in order and stops the started ones in reverse. If a start fails, what was already started is
 * stopped again and the error is rethrown.
 */
export class ServiceList {
  private readonly started: NamedService[] = []

  constructor (private readonly onStopFailure: StopFailure) {}

  /**
   * Start `service` now and remember it for `stopAll`. If it fails to start, everything started before it is stopped
   * (last first) and the error is rethrown; the failed service cleans up after itself.
   */
  async start<S extends Service> (name: string, service: S): Promise<S> {
    try {
      await service.start()
    } catch (err) {
      await this.stopAll()
      throw err
    }
    this.started.push({ name, service })
    return service
  }

  /** Remember an already running resource (a store, a listener) so that it is closed in reverse order too. */
  add (name: string, stop: () => Promise<void> | void): void {
    this.started.push({ name, service: { start: () => {}, stop } })
  }

  /** Stop everything started, last first; each failure is reported and the rest still stop. Idempotent. */
  async stopAll (): Promise<void> {
    while (this.started.length > 0) {
      const { name, service } = this.started.pop() as NamedService
      try {
        await service.stop()
      } catch (err) {
        this.onStopFailure(name, err)
      }
    }
  }
}
