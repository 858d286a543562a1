// `node --import ./test/harness/trace-imports.mjs ...`: writes every module URL the process resolves to stderr as
// `import-trace <url>` (CLI tests check what a command loads).
import { register } from 'node:module'
register(new URL('./trace-imports-hook.mjs', import.meta.url))
