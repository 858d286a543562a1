/**
 * When discovery walks (pure; discovery.ts runs it). Quick right after start, while the mesh forms; then, once that
 * start-up schedule is over ("settled"), a walk that finds nobody new backs off (2, 5, 10, then 20 minutes), and a new
 * connection brings one walk soon, not the whole quick schedule again: in a 20-node mesh every join restarted six
 * quick walks at each of the 19 others, and every walk queries every peer (a third of an idle node's CPU).
 */
import { spread as spreadMs } from '../common/jitter.js'

/** Delays between walks while the mesh forms (the last one: the pace once settled, while walks find peers). */
export const SCHEDULE_MS = [300, 700, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000] as const
/**
 * Delays after walks that found nobody new, one step per fruitless walk (then stays at the last). A walk asks every
 * peer of a small mesh for the peers closest to us: in a 20-node mesh, 19 requests each answered with 19 peer records,
 * the largest part of an idle node's CPU while walks came a minute apart (measured with `bench/soak.ts`). A node that
 * joins dials us itself, and a new connection brings a walk soon (`onConnection`), so the idle pace only finds peers
 * that nobody connected us to.
 */
export const IDLE_SCHEDULE_MS = [120_000, 300_000, 600_000, 1_200_000] as const
/** Where a connection before settling puts the quick schedule back. */
const QUICK_AGAIN = 3

/** Where discovery stands. */
export interface WalkSchedule {
  /** Walks done on the quick schedule. */
  readonly step: number
  /** Walks in a row, once settled, that found no peer we were not connected to. */
  readonly fruitless: number
  /** The start-up schedule ran to its end once. */
  readonly settled: boolean
}

export const initialSchedule: WalkSchedule = { step: 0, fruitless: 0, settled: false }

/** How far an idle delay is spread (+-20%), so nodes that joined together do not walk together ever after. */
export const IDLE_JITTER = 0.2

/**
 * The delay before the next walk; `spread` in [0, 1) (a random draw) moves an idle delay within +-IDLE_JITTER of its
 * step: the walks of a mesh whose nodes settled together (every join brings each of them one walk soon) stayed in
 * step, every node asking every other at once, and on a busy machine some of those walks timed out.
 */
export function nextWalkDelay (s: WalkSchedule, spread = 0.5): number {
  if (s.fruitless === 0) return SCHEDULE_MS[Math.min(s.step, SCHEDULE_MS.length - 1)]
  const base = IDLE_SCHEDULE_MS[Math.min(s.fruitless - 1, IDLE_SCHEDULE_MS.length - 1)]
  return Math.round(spreadMs(base, IDLE_JITTER, spread))
}

/**
 * After a walk that dialled `found` new peers, or -1 when it could not tell (it failed, e.g. timed out on a busy
 * machine, or the node was alone and redialled its bootstrap peers). Once settled, a walk that found nobody backs
 * off one step further; one that found someone, or could not tell, returns to the schedule's pace (every 30 s once
 * settled), so a node that lost its peers keeps retrying its bootstrap peers at that pace.
 */
export function afterWalk (s: WalkSchedule, found: number): WalkSchedule {
  const settled = s.settled || s.step >= SCHEDULE_MS.length - 1
  if (found === 0) return { step: s.step + 1, fruitless: settled ? s.fruitless + 1 : s.fruitless, settled }
  return { step: s.step + 1, fruitless: 0, settled }
}

/** What one walk saw: peers it dialled, peers that answered, and whether it ended in an error (a timeout, mostly). */
export interface WalkResult {
  dialled: number
  answers: number
  failed: boolean
}

/**
 * A walk's count for `afterWalk`. A walk that failed before any peer answered could not tell (-1: back to the pace);
 * one that timed out after peers answered, naming nobody new, is as fruitless as one that ended (on a busy machine the
 * last answers of a walk that asks every peer of a small mesh are often what times out).
 */
export function walkOutcome (w: WalkResult): number {
  if (!w.failed) return w.dialled
  return w.dialled > 0 || w.answers > 0 ? w.dialled : -1
}

/**
 * On a new connection: the new state, and whether to re-arm the timer at `nextWalkDelay` of it (`soon`: one walk
 * after the quick schedule's step delay instead, keeping the back-off for the walks after it).
 */
export function onConnection (s: WalkSchedule): { state: WalkSchedule, rearm: 'no' | 'schedule' | 'soon' } {
  if (s.settled) return { state: s, rearm: 'soon' }
  if (s.step > QUICK_AGAIN) return { state: { ...s, step: QUICK_AGAIN }, rearm: 'schedule' }
  return { state: s, rearm: 'no' }
}

/** The delay of the one walk a connection brings once settled. */
export const SOON_MS = SCHEDULE_MS[QUICK_AGAIN]
