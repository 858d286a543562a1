/**
 * `npm start` as a user runs it, in a process group of its own (npm, its prestart build, the daemon), for the tests
 * that check the two-command promise. Waiting for the API says what the group was doing when it did not come up (a
 * silent minute once in CI: the processes and their states are the only clue), and stopping leaves no process behind.
 */
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT, waitFor } from './index.js'

const exec = promisify(execFile)

export interface NpmStart {
  /** Everything npm and the daemon printed so far. */
  output: () => string
  /** Resolves with npm's exit code. */
  exited: Promise<number | null>
  /** Waits for `<dataDir>/api.url`; on timeout, stops the group and throws with the output and the group's processes. */
  waitForApi: (timeoutMs?: number) => Promise<void>
  /** SIGTERM to the group (what Ctrl-C does), then npm's exit; SIGKILL for any member still there `graceMs` later. */
  stop: (graceMs?: number) => Promise<void>
  /** The group's processes, one `ps` line each (pid, parent, state, elapsed, CPU time, command). */
  processes: () => Promise<string>
}

/** Spawn `npm start --silent` in REPO_ROOT with `env` added to the environment; MESHNODE_DATA_DIR must be in it. */
export function npmStart (env: NodeJS.ProcessEnv): NpmStart {
  const dataDir = env.MESHNODE_DATA_DIR
  if (dataDir == null) throw new Error('npmStart: MESHNODE_DATA_DIR is required')
  const child = spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const group = child.pid as number
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  child.stderr.on('data', d => { out += String(d) })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))

  const processes = async (): Promise<string> => {
    // detached: npm leads a session of its own, and its children stay in it; ps exits 1 when it is empty
    const r = await exec('ps', ['-o', 'pid,ppid,stat,etime,time,args', '--sid', String(group)]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }))
    return r.stdout.trim()
  }
  const signal = (sig: NodeJS.Signals): void => {
    try { process.kill(-group, sig) } catch { /* the group is gone */ }
  }
  const stop = async (graceMs = 10_000): Promise<void> => {
    signal('SIGTERM')
    await exited
    // npm has gone; its children get the rest of the grace period, then are killed so no test leaves a daemon behind
    await waitFor(async () => (await processes()).split('\n').length <= 1, { timeoutMs: graceMs, intervalMs: 200 }).catch(() => { signal('SIGKILL') })
  }
  const waitForApi = async (timeoutMs = 60_000): Promise<void> => {
    try {
      await waitFor(() => existsSync(join(dataDir, 'api.url')), { timeoutMs, what: 'npm start to serve the API' })
    } catch (err) {
      const ps = await processes()
      await stop()
      throw new Error(`${(err as Error).message}\noutput: ${out.slice(-800) || '(none)'}\nprocesses of the group:\n${ps || '(none)'}`)
    }
  }
  return { output: () => out, exited, waitForApi, stop, processes }
}
