// The resolve hook of trace-imports.mjs.
export async function resolve (specifier, context, next) {
  const r = await next(specifier, context)
  process.stderr.write(`import-trace ${r.url}\n`)
  return r
}
