/**
 * Where the package's own files are (configs/, data/, package.json), whether the code runs from src/ under tsx or
 * compiled from dist/src/: walk up from this file to the directory holding meshnode's package.json.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'meshnode') return dir
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the meshnode package root')
    dir = up
  }
}

/** The meshnode package root (the folder with package.json, configs/ and data/). */
export const PACKAGE_ROOT = findRoot()
