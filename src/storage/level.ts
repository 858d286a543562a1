/**
 * The node's state store: ONE LevelDB at `<dataDir>/state`, a sublevel per subsystem, a schema version checked at open.
 *
 * Values are JSON (level's `json` encoding): readable with any LevelDB tool, and every record we keep is plain data.
 * Binary fields (signed envelopes) are stored as base64 strings. Keys are UTF-8 strings.
 *
 * Schema versions: the current version lives under `__meta/schema-version`. A fresh database is stamped with the code's
 * version. An older one is migrated one step at a time (`migrations[n]` upgrades n-1 -> n, and each step's version is
 * written after it succeeds, so a crash mid-migration resumes at the failed step). A database NEWER than the code is
 * refused: old code must never rewrite data it does not understand.
 *
 * Crash safety: `atomic(ops)` is one LevelDB write batch, applied all-or-nothing even across sublevels and even when
 * the process is killed mid-write (the batch is one record in LevelDB's write-ahead log).
 */
import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import { StorageError } from './errors.js'

/** Subsystem names are short lowercase words; they prefix every key of that subsystem. */
const SUBLEVEL_NAME = /^[a-z][a-z0-9-]{0,31}$/
const META = '__meta'
const VERSION_KEY = 'schema-version'

/** The JSON values we store. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue | undefined }

/** A sublevel: string keys, JSON values. */
export type StateSublevel<V = JsonValue> = AbstractSublevel<Level<string, JsonValue>, string | Buffer | Uint8Array, string, V>

/** One write of an atomic batch, addressed by sublevel name. */
export type StateOp =
  | { type: 'put', sublevel: string, key: string, value: JsonValue }
  | { type: 'del', sublevel: string, key: string }

/** A migration upgrades the database from version n-1 to n; it gets the open store (sublevels, atomic). */
export type Migration = (db: StateStore) => Promise<void>

/** How `openState` opens the state database. */
export interface OpenStateOptions {
  /** The schema version this code writes. Default 1. */
  version?: number
  /** `migrations[n]` upgrades n-1 -> n. */
  migrations?: Record<number, Migration>
  signal?: AbortSignal
}

/** The state database: sublevels per subsystem plus an atomic multi-sublevel batch. */
export class StateStore {
  private readonly subs = new Map<string, StateSublevel<any>>()
  private closed = false

  private constructor (readonly db: Level<string, JsonValue>, readonly location: string, private version: number) {}

  /** Open (creating if missing) the database at `location`, check its schema version and migrate it. */
  static async open (location: string, opts: OpenStateOptions = {}): Promise<StateStore> {
    opts.signal?.throwIfAborted()
    const target = opts.version ?? 1
    if (!Number.isSafeInteger(target) || target < 1) throw new StorageError('ERR_SCHEMA', `schema version must be a positive integer, got ${target}`)
    const db = new Level<string, JsonValue>(location, { valueEncoding: 'json' })
    try {
      await db.open({ createIfMissing: true })
    } catch (err) {
      throw new StorageError('ERR_STATE_OPEN', `cannot open the state database at ${location} (is another node using this data dir?)`, { cause: err })
    }
    const store = new StateStore(db, location, 0)
    try {
      await store.checkSchema(target, opts.migrations ?? {}, opts.signal)
    } catch (err) {
      await db.close()
      throw err
    }
    return store
  }

  /** The schema version the database is at (after migrations). */
  get schemaVersion (): number { return this.version }

  /** The sublevel of one subsystem (`hardware`, `artifacts`, ...); the same instance on every call. */
  sublevel<V = JsonValue> (name: string): StateSublevel<V> {
    if (!SUBLEVEL_NAME.test(name)) throw new StorageError('ERR_SUBLEVEL', `invalid sublevel name ${JSON.stringify(name)}`)
    let sub = this.subs.get(name)
    if (sub == null) {
      sub = this.db.sublevel<string, V>(name, { valueEncoding: 'json' }) as StateSublevel<any>
      this.subs.set(name, sub)
    }
    return sub
  }

  /** Apply writes across sublevels as ONE batch: after a crash either all of them are visible or none. */
  async atomic (ops: StateOp[], options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (ops.length === 0) return
    const batch = ops.map(op => op.type === 'put'
      ? { type: 'put' as const, sublevel: this.sublevel(op.sublevel), key: op.key, value: op.value }
      : { type: 'del' as const, sublevel: this.sublevel(op.sublevel), key: op.key })
    // abstract-level encodes every op before writing anything, so a bad value fails the whole batch up front
    await this.db.batch(batch as any)
  }

  /** Close the database; idempotent. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.db.close()
  }

  private async checkSchema (target: number, migrations: Record<number, Migration>, signal?: AbortSignal): Promise<void> {
    const meta = this.metaLevel()
    const stored = await meta.get(VERSION_KEY)
    if (stored === undefined) {
      if (await this.isEmpty()) {
        await meta.put(VERSION_KEY, target)
        this.version = target
        return
      }
      // data written before versioning existed: treat it as version 0 and migrate
      this.version = 0
    } else {
      if (typeof stored !== 'number' || !Number.isSafeInteger(stored) || stored < 0) {
        throw new StorageError('ERR_SCHEMA', `state database ${this.location} has a malformed schema version ${JSON.stringify(stored)}`)
      }
      this.version = stored
    }
    if (this.version > target) {
      throw new StorageError('ERR_SCHEMA_NEWER', `state database ${this.location} is at schema version ${this.version}, newer than this meshnode supports (${target}); upgrade meshnode or use another data dir`)
    }
    for (let n = this.version + 1; n <= target; n++) {
      signal?.throwIfAborted()
      const migrate = migrations[n]
      if (migrate == null) throw new StorageError('ERR_SCHEMA_MIGRATION', `no migration from schema version ${n - 1} to ${n}`)
      try {
        await migrate(this)
      } catch (err) {
        throw new StorageError('ERR_SCHEMA_MIGRATION', `migration to schema version ${n} failed: ${(err as Error).message}`, { cause: err })
      }
      await meta.put(VERSION_KEY, n)
      this.version = n
    }
  }

  private metaLevel (): StateSublevel<JsonValue> {
    let sub = this.subs.get(META)
    if (sub == null) {
      sub = this.db.sublevel<string, JsonValue>(META, { valueEncoding: 'json' }) as StateSublevel<any>
      this.subs.set(META, sub)
    }
    return sub
  }

  private async isEmpty (): Promise<boolean> {
    return (await this.db.keys({ limit: 1 }).all()).length === 0
  }
}

/** Open the state store; see `StateStore.open`. */
export async function openState (location: string, opts: OpenStateOptions = {}): Promise<StateStore> {
  return await StateStore.open(location, opts)
}
