/**
 * A node's local training data for one job: the dataset it joined with, its partition share (for simulations), and a
 * held-out split it evaluates every accepted model on.
 */
import { TrainingError } from '../errors.js'
import { partition, trainTestSplit } from '../core/partition.js'
import { isBuiltin, loadBuiltin, subset, type Dataset, type DatasetStore } from '../data/index.js'
import { joinRequestIssue } from '../protocol/job-check.js'
import { JOIN_DEFAULTS, type JoinJobRequest } from '../protocol/requests.js'

/** A node's train and held-out splits for one job. */
export interface LocalData {
  train: Dataset
  test: Dataset
}

/** Load a built-in or imported dataset by name (loadBuiltin caches the parsed built-ins per process). */
export async function loadDataset (name: string, store: DatasetStore): Promise<Dataset> {
  if (isBuiltin(name)) return await loadBuiltin(name)
  if (!(await store.has(name))) throw new TrainingError('ERR_DATASET_NOT_FOUND', `no dataset named ${JSON.stringify(name)}: import it with \`meshnode train dataset import\``)
  return await store.load(name)
}

/** This node's train/test data for a join request. The split seed comes from the partition so runs reproduce. */
export async function localData (req: JoinJobRequest, store: DatasetStore): Promise<LocalData> {
  const issue = joinRequestIssue(req)
  if (issue !== undefined) throw new TrainingError('ERR_JOB', issue.message)
  const ds = await loadDataset(req.dataset, store)
  let mine = ds
  if (req.partition != null) {
    const { scheme, index, of, seed, alpha } = req.partition
    const parts = partition(ds.y, { scheme, of, seed, alpha })
    mine = subset(ds, parts[index])
  }
  const testFraction = req.testFraction ?? JOIN_DEFAULTS.testFraction
  const split = trainTestSplit(mine.y.length, testFraction, req.partition?.seed ?? JOIN_DEFAULTS.partitionSeed)
  if (split.train.length === 0 || split.test.length === 0) throw new TrainingError('ERR_JOB', `dataset share of ${mine.y.length} rows is too small to split for training and evaluation`)
  return { train: subset(mine, split.train), test: subset(mine, split.test) }
}
