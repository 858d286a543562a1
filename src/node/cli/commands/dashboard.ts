/**
 * `meshnode dashboard`: a one-time login URL for the web dashboard. Asks the running daemon (with the admin token,
 * which never reaches the browser) for a login code and prints `<api>/login?code=...`: valid 60 s, usable once; the
 * browser trades it for an HttpOnly session cookie. `--open` also hands the URL to the desktop's opener.
 */
import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { output } from '../format.js'
import type { Connect } from './info.js'

/** What `POST /v1/dashboard/login-codes` answers. */
interface LoginCode { code: string, path: string, expiresAt: string }

/** Try the desktop opener for `url`; false when none could be started (no display, no xdg-open). */
async function openUrl (url: string): Promise<boolean> {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  return await new Promise(resolve => {
    try {
      const child = spawn(cmd, [url], { stdio: 'ignore', detached: true })
      child.once('error', () => resolve(false))
      child.once('spawn', () => { child.unref(); resolve(true) })
    } catch { resolve(false) }
  })
}

/** The `dashboard` command. */
export function registerDashboardCommand (program: Command, connect: Connect): void {
  program.command('dashboard')
    .description('print a one-time login URL for the web dashboard (valid 60 s, single use)')
    .option('--data-dir <dir>', 'data directory')
    .option('--open', 'also open it in the default browser (xdg-open)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string, json?: boolean, open?: boolean }) => {
      const api = await connect(opts)
      const c = await api.request<LoginCode>('POST', '/v1/dashboard/login-codes')
      const url = new URL(c.path, api.baseUrl).href
      const opened = opts.open === true ? await openUrl(url) : false
      output(opts.json === true, { url, expiresAt: c.expiresAt, opened }, () =>
        `${url}\n(valid until ${c.expiresAt.slice(11, 19)} UTC, usable once${opts.open === true ? opened ? '; opening it in your browser' : '; could not start a browser: open it yourself' : ''})`)
    })
}
