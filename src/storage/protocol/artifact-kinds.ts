/**
 * What an artifact can be: the one list (the record, the API and the CLI all read it from here). A module of its
 * own, free of schemas, so the CLI's `artifacts` commands can print it without loading TypeBox or the record code.
 */
export const ARTIFACT_KINDS = ['model', 'delta', 'dataset', 'proposal', 'log', 'other'] as const
