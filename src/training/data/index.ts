/**
 * Training data: the Dataset type, built-in datasets (digits, mnist), CSV / JSON Lines parsers and the on-disk store
 * of the operator's named datasets.
 */
export { validateDataset, subset, rows, classCounts, type Dataset } from './dataset.js'
export { parseCsv, parseJsonLines, DatasetParseError, type CsvOptions, type ParseOptions } from './parse.js'
export { loadBuiltin, isBuiltin, BUILTIN_DATASETS, DIGITS_PATH, type BuiltinName } from './builtin.js'
export { DatasetStore, validateDatasetName, encodeDataset, decodeDataset, DATASET_NAME, type DatasetInfo } from './store.js'
