/**
 * Node options: one schema, merged in a fixed order and validated once.
 *
 *   defaults <- configs/profiles/<profile>.yaml + configs/networks/<network>.yaml <- config file <- MESHNODE_* env <- flags
 *
 * Objects merge key by key; arrays replace. The result is frozen and passed down. This is the only module that
 * reads `process.env`. Secrets (the key passphrase) are read here too but never become part of the options object.
 */
import { readFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml } from 'yaml'
import { multiaddr } from '@multiformats/multiaddr'
import { ConfigError } from '../common/errors.js'
import { PACKAGE_ROOT } from '../common/paths.js'
import { StorageOptionsSchema, defaultStorageOptions } from '../storage/index.js'
import { TrainingOptionsSchema, defaultTrainingOptions } from '../training/index.js'
import { ConsensusOptionsSchema, defaultConsensusOptions } from '../consensus/index.js'
import { LedgerOptionsSchema, defaultLedgerOptions, MarketOptionsSchema, defaultMarketOptions } from '../ledger/lazy.js'
import { ApiOptionsSchema, defaultApiOptions } from './api/options.js'
import { DEFAULT_COLOCATION_EXEMPT, DEFAULT_UNGUARDED_RANGES, parseCidr } from './colocation.js'
import { defaultDataDir } from './data-dir.js'
import { HardwareOptionsSchema, ResourcesOptionsSchema, defaultHardwareOptions, defaultResourcesOptions } from './hardware/options.js'

const Profile = Type.Union([Type.Literal('default'), Type.Literal('gpu'), Type.Literal('edge')])
const Network = Type.Union([Type.Literal('local'), Type.Literal('amoy'), Type.Literal('polygon')])
const LogLevel = Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'silent'].map(l => Type.Literal(l)))

/** The full option schema; every key has a default so a node runs with no config at all. */
export const NodeOptionsSchema = Type.Object({
  dataDir: Type.String({ minLength: 1 }),
  profile: Profile,
  network: Network,
  listen: Type.Array(Type.String(), { description: 'multiaddrs to listen on' }),
  announce: Type.Array(Type.String()),
  bootstrap: Type.Array(Type.String(), { description: 'multiaddrs with /p2p/<peer id>' }),
  mdns: Type.Boolean(),
  api: ApiOptionsSchema,
  log: Type.Object({
    level: LogLevel,
    format: Type.Union([Type.Literal('json'), Type.Literal('pretty')])
  }, { additionalProperties: false }),
  connections: Type.Object({
    maxConnections: Type.Integer({ minimum: 1 }),
    /** Discovered peers are dialled while we have fewer connections than this. */
    targetPeers: Type.Integer({ minimum: 0 }),
    dialTimeoutMs: Type.Integer({ minimum: 100 }),
    /** New inbound connections accepted per second from one IP (libp2p's flood guard). */
    inboundPerIpPerSecond: Type.Integer({ minimum: 1 }),
    /**
     * Address ranges (CIDR) whose inbound connections skip that guard, the pending-connection cap and pruning
     * (libp2p's allow list); default loopback only: many nodes on one machine all dial from 127.0.0.1.
     */
    unguardedRanges: Type.Array(Type.String(), { description: 'CIDR ranges exempt from the per-IP inbound connection guard' })
  }, { additionalProperties: false }),
  gossip: Type.Object({
    /** Peers sharing one public IP before gossipsub's colocation penalty applies. */
    ipColocationThreshold: Type.Integer({ minimum: 1 }),
    /** Address ranges (CIDR) exempt from the colocation penalty; default loopback and private ranges. */
    ipColocationExempt: Type.Array(Type.String(), { description: 'CIDR ranges never counted for IP colocation' }),
    maxMessageBytes: Type.Integer({ minimum: 1024 }),
    /** Accepted age of signed records, and tolerated clock skew into the future. */
    recordMaxAgeMs: Type.Integer({ minimum: 1000 }),
    recordMaxSkewMs: Type.Integer({ minimum: 0 })
  }, { additionalProperties: false }),
  hardware: HardwareOptionsSchema,
  resources: ResourcesOptionsSchema,
  storage: StorageOptionsSchema,
  training: TrainingOptionsSchema,
  consensus: ConsensusOptionsSchema,
  ledger: LedgerOptionsSchema,
  market: MarketOptionsSchema,
  chain: Type.Object({
    chainId: Type.Integer({ minimum: 1 }),
    rpcUrls: Type.Array(Type.String()),
    confirmations: Type.Integer({ minimum: 0 }),
    contracts: Type.Record(Type.String(), Type.String()),
    /** The contracts' deployment block: the ledger's event indexer starts there (`meshnode contracts deploy` prints it). */
    fromBlock: Type.Integer({ minimum: 0 })
  }, { additionalProperties: false })
}, { additionalProperties: false })

/** The validated, frozen options every part of the node reads. */
export type NodeOptions = Static<typeof NodeOptionsSchema>
type DeepPartial<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] }
/** Any subset of the options, typed (config files written by tests and tools). */
export type PartialNodeOptions = DeepPartial<NodeOptions>

/** The data directory when none is given: `MESHNODE_DATA_DIR`, else `~/.meshnode` (defined in data-dir.ts). */
export { defaultDataDir }

/** Built-in defaults, before any preset. */
export function defaultNodeOptions (dataDir: string): NodeOptions {
  return {
    dataDir,
    profile: 'default',
    network: 'local',
    listen: ['/ip4/0.0.0.0/tcp/4101'],
    announce: [],
    bootstrap: [],
    mdns: true,
    api: { ...defaultApiOptions, allowedHosts: [...defaultApiOptions.allowedHosts] },
    log: { level: 'info', format: 'pretty' },
    connections: { maxConnections: 200, targetPeers: 32, dialTimeoutMs: 10_000, inboundPerIpPerSecond: 5, unguardedRanges: [...DEFAULT_UNGUARDED_RANGES] },
    gossip: { ipColocationThreshold: 10, ipColocationExempt: [...DEFAULT_COLOCATION_EXEMPT], maxMessageBytes: 1024 * 1024 + 64 * 1024, recordMaxAgeMs: 10 * 60_000, recordMaxSkewMs: 30_000 },
    hardware: { ...defaultHardwareOptions },
    resources: { ...defaultResourcesOptions },
    storage: { ...defaultStorageOptions },
    training: { ...defaultTrainingOptions },
    consensus: structuredClone(defaultConsensusOptions),
    ledger: { ...defaultLedgerOptions, anvil: { ...defaultLedgerOptions.anvil }, faucet: { ...defaultLedgerOptions.faucet } },
    market: defaultMarketOptions(),
    chain: { chainId: 31337, rpcUrls: [], confirmations: 1, contracts: {}, fromBlock: 0 }
  }
}

/** Where the shipped presets live. */
export function configsDir (): string {
  return join(PACKAGE_ROOT, 'configs')
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v)
}

/** Deep merge where objects merge and everything else (arrays included) replaces. */
export function mergeOptions<T> (base: T, ...layers: unknown[]): T {
  let out: unknown = base
  for (const layer of layers) out = mergeTwo(out, layer)
  return out as T
}

function mergeTwo (a: unknown, b: unknown): unknown {
  if (b === undefined) return a
  if (!isPlainObject(a) || !isPlainObject(b)) return b
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = mergeTwo(a[k], v)
  return out
}

function readYaml (file: string, what: string): Record<string, unknown> {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(what, `cannot read ${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }
  if (doc == null) return {}
  if (!isPlainObject(doc)) throw new ConfigError(what, `${file} must hold a YAML mapping`)
  return doc
}

/** The profile and network presets shipped in configs/. */
export function loadPresets (profile: string, network: string): unknown[] {
  const dir = configsDir()
  const p = join(dir, 'profiles', `${profile}.yaml`)
  const n = join(dir, 'networks', `${network}.yaml`)
  if (!existsSync(p)) throw new ConfigError('profile', `expected one of default, gpu, edge; got ${JSON.stringify(profile)}`)
  if (!existsSync(n)) throw new ConfigError('network', `expected one of local, amoy, polygon; got ${JSON.stringify(network)}`)
  return [readYaml(p, 'profile'), readYaml(n, 'network')]
}

const list = (v: string): string[] => v.split(',').map(s => s.trim()).filter(s => s !== '')

/**
 * A layer as env and flags give it: any subset of the options, where a scalar may still be a string
 * ("false", "9100", "edge"); `validateOptions` converts and checks it with the rest.
 */
export type LooseOptions<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? LooseOptions<T[K]> : T[K] | string }

/** A layer of options from the environment or flags, before conversion. */
export type OptionsLayer = LooseOptions<NodeOptions>

/** MESHNODE_* variables and the option each sets. */
const ENV_KEYS: Readonly<Record<string, (v: string) => OptionsLayer>> = {
  MESHNODE_PROFILE: v => ({ profile: v }),
  MESHNODE_NETWORK: v => ({ network: v }),
  MESHNODE_LISTEN: v => ({ listen: list(v) }),
  MESHNODE_BOOTSTRAP: v => ({ bootstrap: list(v) }),
  MESHNODE_MDNS: v => ({ mdns: v }),
  MESHNODE_API_HOST: v => ({ api: { host: v } }),
  MESHNODE_API_PORT: v => ({ api: { port: v } }),
  MESHNODE_LOG_LEVEL: v => ({ log: { level: v } }),
  MESHNODE_LOG_FORMAT: v => ({ log: { format: v } }),
  /** Comma-separated RPC URLs of the chain (they may hold API keys: env or config file only, never flags). */
  MESHNODE_RPC_URLS: v => ({ chain: { rpcUrls: list(v) } }),
  MESHNODE_LEDGER_ENABLED: v => ({ ledger: { enabled: v } }),
  /** The embedded local chain's port (default 8545): two development setups on one machine. */
  MESHNODE_ANVIL_PORT: v => ({ ledger: { anvil: { port: v } } })
}

/** The process environment. This module is the only one that reads it; the identity's passphrase is read through it. */
export function processEnv (): NodeJS.ProcessEnv {
  return process.env
}

/** The option layer from the environment (values are converted and checked with the rest). */
export function envOptions (env: NodeJS.ProcessEnv = process.env): OptionsLayer {
  let out: OptionsLayer = {}
  for (const [name, set] of Object.entries(ENV_KEYS)) {
    const v = env[name]
    if (v != null && v !== '') out = mergeOptions(out, set(v))
  }
  return out
}

/** The layers `loadNodeOptions` merges over the defaults and presets. */
export interface LoadOptionsInput {
  dataDir?: string
  /** An explicit config file; default `<dataDir>/config.yaml` when it exists. */
  configFile?: string
  /** Flags, already shaped like options (strings are converted like env values). */
  flags?: OptionsLayer
  env?: NodeJS.ProcessEnv
}

/** Merge every layer, convert strings from env/flags to the schema's types, validate once and freeze. */
export function loadNodeOptions (input: LoadOptionsInput = {}): Readonly<NodeOptions> {
  const env = input.env ?? process.env
  const dataDir = resolve(input.dataDir ?? input.flags?.dataDir ?? defaultDataDir(env))
  const configFile = input.configFile ?? join(dataDir, 'config.yaml')
  const fileLayer = input.configFile != null || existsSync(configFile) ? readYaml(configFile, 'config') : {}
  if (input.configFile != null && !existsSync(input.configFile)) throw new ConfigError('config', `file ${input.configFile} does not exist`)
  const envLayer = envOptions(env)
  const flags = input.flags ?? {}
  // the profile and network choose the presets, so resolve them first from the upper layers
  const pick = (k: 'profile' | 'network', d: string): string => String((flags[k] ?? envLayer[k] ?? fileLayer[k] ?? d))
  const presets = loadPresets(pick('profile', 'default'), pick('network', 'local'))
  const merged = mergeOptions<unknown>(defaultNodeOptions(dataDir), ...presets, fileLayer, envLayer, flags, { dataDir })
  return Object.freeze(validateOptions(merged))
}

/** Validate a merged options object, converting numeric/boolean strings. Throws ConfigError naming the first bad key. */
export function validateOptions (value: unknown): NodeOptions {
  const converted = Value.Convert(NodeOptionsSchema, value)
  const first = Value.Errors(NodeOptionsSchema, converted).First()
  if (first != null) {
    const key = first.path.replace(/^\//, '').replace(/\//g, '.') || '(root)'
    const got = first.value === undefined ? 'nothing' : JSON.stringify(first.value)
    throw new ConfigError(key, `${describeExpected(first.schema, first.message)}, got ${got?.slice(0, 80)}`)
  }
  const opts = converted as NodeOptions
  checkSemantics(opts)
  return opts
}

function describeExpected (schema: TSchema, fallback: string): string {
  if (Array.isArray(schema.anyOf)) {
    const lits = schema.anyOf.map((s: TSchema) => s.const).filter((c: unknown) => c !== undefined)
    if (lits.length > 0) return `expected one of ${lits.join(', ')}`
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const lo = schema.minimum ?? schema.exclusiveMinimum
    const hi = schema.maximum
    return `expected ${schema.type === 'integer' ? 'an integer' : 'a number'}${lo != null ? ` >= ${lo}` : ''}${hi != null ? ` <= ${hi}` : ''}`
  }
  if (schema.type === 'boolean') return 'expected true or false'
  return fallback.toLowerCase()
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** Checks the schema cannot express: multiaddrs parse, bootstrap names a peer, the API stays local unless allowed. */
function checkSemantics (o: NodeOptions): void {
  for (const [key, addrs] of [['listen', o.listen], ['announce', o.announce], ['bootstrap', o.bootstrap]] as const) {
    addrs.forEach((a, i) => {
      try { multiaddr(a) } catch { throw new ConfigError(`${key}[${i}]`, `expected a multiaddr like /ip4/127.0.0.1/tcp/4101, got ${JSON.stringify(a)}`) }
      if (key === 'bootstrap' && !a.includes('/p2p/')) throw new ConfigError(`${key}[${i}]`, `expected a multiaddr ending in /p2p/<peer id>, got ${JSON.stringify(a)}`)
    })
  }
  o.gossip.ipColocationExempt.forEach((c, i) => {
    try { parseCidr(c) } catch (err) { throw new ConfigError(`gossip.ipColocationExempt[${i}]`, (err as Error).message) }
  })
  o.connections.unguardedRanges.forEach((c, i) => {
    try { parseCidr(c) } catch (err) { throw new ConfigError(`connections.unguardedRanges[${i}]`, (err as Error).message) }
  })
  if (!LOOPBACK.has(o.api.host) && !o.api.allowRemote) {
    throw new ConfigError('api.host', `refusing to bind the admin API to ${o.api.host}: set api.allowRemote: true in the config file to allow it`)
  }
}
