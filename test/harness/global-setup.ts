/**
 * Integration tests spawn the real CLI (`bin/meshnode.js`, which runs the compiled dist/): build it once first, so
 * a test never runs a stale build and every node process starts at compiled speed.
 */
import { execFileSync } from 'node:child_process'
import { REPO_ROOT } from './index.js'

export default function setup (): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' })
}
