/**
 * The provider's meter for a compute job paid by cumulative vouchers (pure: the caller passes the time). One voucher
 * is due after each unit of work; half a unit of slack covers the voucher's trip. The job is `done` once the vouchers
 * cover every unit, and `stop`s when two vouchers are missing (or, past the last unit, when the final voucher still
 * has not come two units later).
 */

/** What the meter says about a running job. */
export interface MeterStep {
  /** Units started so far (at most the units bought). */
  unitsRun: number
  /** Units whose voucher is due by now. */
  due: number
  /** Vouchers due and not received. */
  missed: number
  action: 'run' | 'done' | 'stop'
}

/**
 * @param elapsedUnits time since the job started, in units (fractional)
 * @param units the units bought
 * @param covered the units the highest voucher held covers
 */
export function meterStep (elapsedUnits: number, units: number, covered: number): MeterStep {
  const unitsRun = Math.max(0, Math.min(units, Math.ceil(elapsedUnits)))
  const due = Math.max(0, Math.min(units, Math.floor(elapsedUnits - 0.5)))
  const missed = Math.max(0, due - covered)
  let action: MeterStep['action'] = 'run'
  if (covered >= units) action = 'done'
  else if (missed >= 2 || elapsedUnits >= units + 2) action = 'stop'
  return { unitsRun, due, missed, action }
}

/** What a restarted node knows of one of its compute jobs (from its store and one chain read of the lock). */
export interface ResumeFacts {
  role: 'buyer' | 'provider'
  state: 'starting' | 'running' | 'done' | 'stopped' | 'failed'
  /** Provider: the meter had decided the end (`done`/`stopped`) and was redeeming when the node went down. */
  ending: 'done' | 'stopped' | null
  units: number
  /** Units the highest voucher held covers. */
  covered: number
  /** The lock is closed on chain (released, or redeemed in full). */
  lockClosed: boolean
  /** The chain's time is past the lock's expiry. */
  lockExpired: boolean
  /** The provider has released the lock (the refund is known). */
  released: boolean
  /** Buyer: the job request is kept, so a start can be asked again. */
  haveJob: boolean
}

/** What to do with a job after a restart; `state`/`reason` are set first where given. */
export interface ResumeStep {
  action: 'meter' | 'finish' | 'release' | 'pay' | 'start' | 'none'
  state?: ResumeFacts['state']
  reason?: string
}

/**
 * The resume rules (pure). A provider keeps metering a still-open, unexpired lock (the meter's `meterStep` then stops
 * it as usual), finishes (redeems) a job whose end was decided or whose vouchers already cover every unit, and releases
 * an expired lock of a job that is over; a job caught starting is failed (its lock returns at expiry). A buyer resumes
 * paying a running job whose lock is still open, asks again for a start it may not have delivered, and otherwise
 * records why the job is over.
 */
export function resumeStep (f: ResumeFacts): ResumeStep {
  const over = f.state === 'done' || f.state === 'stopped' || f.state === 'failed'
  if (f.role === 'provider') {
    if (over) return { action: f.released ? 'none' : 'release' }
    if (f.state === 'starting') return { action: 'release', state: 'failed', reason: 'provider-restarted' }
    if (f.ending !== null) return { action: 'finish', state: f.ending, reason: f.ending === 'done' ? 'complete' : 'missed-vouchers' }
    if (f.covered >= f.units) return { action: 'finish', state: 'done', reason: 'complete' }
    if (f.lockClosed) return { action: 'finish', state: 'stopped', reason: 'lock-closed' }
    if (f.lockExpired) return { action: 'finish', state: 'stopped', reason: 'lock-expired' }
    return { action: 'meter' }
  }
  if (over) return { action: 'none' }
  if (f.lockClosed || f.lockExpired) return { action: 'none', state: 'stopped', reason: f.lockClosed ? 'lock-closed' : 'lock-expired' }
  if (f.state === 'starting') return f.haveJob ? { action: 'start' } : { action: 'none', state: 'failed', reason: 'buyer-restarted' }
  return { action: 'pay' }
}

/**
 * Whether the provider's meter has anything to do: jobs kept over a restart not yet resumed, a provider job running,
 * or a provider job over whose lock is not yet released. Without any, the service runs no meter tick.
 */
export function meterHasWork (resumed: boolean, jobs: Iterable<{ role: ResumeFacts['role'], state: ResumeFacts['state'], refunded: string | null }>): boolean {
  if (!resumed) return true
  for (const j of jobs) {
    if (j.role === 'provider' && (j.state === 'running' || (j.state !== 'starting' && j.refunded === null))) return true
  }
  return false
}
