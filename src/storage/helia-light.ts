/**
 * A light Helia without `helia`'s index. That module imports @helia/libp2p's default stack (WebRTC, WebSockets, relays,
 * UPnP, ...) and @helia/http even when only `createHeliaLight` is used: about 40 MB of memory and 0.6 s of start-up
 * for code we never run. Its Helia class (what createHeliaLight builds) is loaded from its own module instead; when
 * that file is not where the installed version keeps it, the package index is the fallback.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Helia } from 'helia'
import { PACKAGE_ROOT } from '../common/paths.js'

type HeliaInit = Parameters<typeof import('helia').createHeliaLight>[0]

/** The folder of helia's index: wherever npm put it (hoisted above us when meshnode is a dependency). */
const HELIA_SRC = ((): string => {
  try {
    return dirname(fileURLToPath(import.meta.resolve('helia')))
  } catch { // vitest's module runner has no import.meta.resolve
    return join(PACKAGE_ROOT, 'node_modules', 'helia', 'dist', 'src')
  }
})()

/** `createHeliaLight` without loading helia's index (see above): a Helia with no libp2p stack of its own. */
export async function createLightHelia (init: HeliaInit): Promise<Helia> {
  const classFile = join(HELIA_SRC, 'helia.js')
  const versionFile = join(HELIA_SRC, 'version.js')
  if (existsSync(classFile) && existsSync(versionFile)) {
    const [{ Helia: HeliaClass }, { name, version }] = await Promise.all([
      import(pathToFileURL(classFile).href) as Promise<{ Helia: new (init: unknown) => Helia }>,
      import(pathToFileURL(versionFile).href) as Promise<{ name: string, version: string }>
    ])
    return new HeliaClass({ name, version, ...init })
  }
  const { createHeliaLight } = await import('helia')
  return createHeliaLight(init)
}
