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
