/**
 * Training data: the Dataset type, built-in datasets (digits, mnist), CSV / JSON Lines parsers and the on-disk store
 * of the operator's named datasets.
 */
export { validateDataset, subset, rows, classCounts, datasetExtras, type Dataset, type Standardization } from './dataset.js'
export { fitStandardization, applyStandardization, standardize, featureRangeWarning, RANGE_WARNING_RATIO } from './standardize.js'
export { parseCsv, parseJsonLines, DatasetParseError, MAX_LABEL_LENGTH, type CsvOptions, type ParseOptions } from './parse.js'
export { loadBuiltin, isBuiltin, BUILTIN_DATASETS, DIGITS_PATH, type BuiltinName } from './builtin.js'
export { DatasetStore, validateDatasetName, encodeDataset, decodeDataset, DATASET_NAME, type DatasetInfo } from './store.js'
