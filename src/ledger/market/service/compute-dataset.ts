/**
 * A buyer's own dataset for a compute job: the job request names an artifact by CID (`datasetCid`, CSV or JSON lines
 * as training's import accepts; `datasetFormat` optional) instead of a built-in `dataset`. The provider fetches it
 * through the node's storage and imports it under a name derived from the CID, then runs the job on that name. Both
 * steps go through the runner's ports (the market imports neither storage nor training); a failure is a refusal with a
 * machine-readable code the buyer sees as its job's reason (`dataset-unavailable: ...`, `dataset-invalid: ...`).
 */
import { keccak256, toUtf8Bytes } from 'ethers'

/** What a provider node offers to fetch and import a buyer's dataset (wired by the node: storage and training). */
export interface DatasetPorts {
  /** The artifact's bytes and media type (the node's storage: local blocks or bitswap), within `timeoutMs`. */
  fetchArtifact?: (cid: string, opts: { timeoutMs: number, maxBytes: number }) => Promise<{ bytes: Uint8Array, mediaType?: string }>
  /** Imports `text` as dataset `name` (training's import: CSV with the label last, or JSON lines `{x, y}`). */
  importDataset?: (name: string, text: string, format: 'csv' | 'jsonl') => Promise<void>
}

/** Refusal codes of a buyer's dataset (the prefix of the job's `reason`). */
export type DatasetRefusalCode = 'dataset-unavailable' | 'dataset-invalid'

/** A dataset the provider could not fetch or import, with its code. */
export class DatasetRefusal extends Error {
  constructor (readonly code: DatasetRefusalCode, message: string) { super(`${code}: ${message}`) }
}

const CID = /^[a-zA-Z0-9]{16,128}$/
/** The fetch must end well inside the buyer's start request (20 s). */
const FETCH_TIMEOUT_MS = 12_000
/** Training's upload cap. */
const MAX_BYTES = 64 * 1024 * 1024

/** The dataset name a CID is imported under (deterministic: the same artifact is one dataset). */
export function datasetNameOf (cid: string): string {
  return `market-${keccak256(toUtf8Bytes(cid)).slice(2, 26)}`
}

/** CSV or JSON lines: as asked, else by media type, else by the first character. */
export function datasetFormatOf (asked: unknown, mediaType: string | undefined, text: string): 'csv' | 'jsonl' {
  if (asked === 'csv' || asked === 'jsonl') return asked
  if (mediaType !== undefined && /ndjson|jsonl|json-seq/i.test(mediaType)) return 'jsonl'
  if (mediaType !== undefined && /csv/i.test(mediaType)) return 'csv'
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv'
}

/**
 * The job as the runner gets it: unchanged without `datasetCid`; else the artifact fetched, imported, and the job
 * pointed at it (`dataset` set to the derived name, `datasetCid`/`datasetFormat` removed).
 */
export async function prepareDataset (job: Record<string, unknown>, ports: DatasetPorts): Promise<Record<string, unknown>> {
  const cid = job.datasetCid
  if (cid === undefined) return job
  if (typeof cid !== 'string' || !CID.test(cid)) throw new DatasetRefusal('dataset-invalid', 'datasetCid is not a CID')
  if (ports.fetchArtifact === undefined || ports.importDataset === undefined) throw new DatasetRefusal('dataset-unavailable', 'this node takes no datasets as artifacts')
  let got: { bytes: Uint8Array, mediaType?: string }
  try {
    got = await ports.fetchArtifact(cid, { timeoutMs: FETCH_TIMEOUT_MS, maxBytes: MAX_BYTES })
  } catch (err) {
    throw new DatasetRefusal('dataset-unavailable', `artifact ${cid}: ${(err as Error).message.split('\n')[0].slice(0, 160)}`)
  }
  const text = new TextDecoder().decode(got.bytes)
  const name = datasetNameOf(cid)
  try {
    await ports.importDataset(name, text, datasetFormatOf(job.datasetFormat, got.mediaType, text))
  } catch (err) {
    throw new DatasetRefusal('dataset-invalid', `artifact ${cid}: ${(err as Error).message.split('\n')[0].slice(0, 160)}`)
  }
  const { datasetCid, datasetFormat, ...rest } = job
  return { ...rest, dataset: name }
}
