// The process strata starts inside `unshare`: reads one op from fd 3, runs
// it, and leaves its result (or error) as JSON in the file the op names. A
// plan (`run`) loads only plan.js: everything else is loaded per op, or
// before the op arrives when an early start says what it will be.
import {readFileSync, writeFileSync} from 'node:fs'

// started early, while the outer process loads oclif: load what the op will need meanwhile
if (process.env.STRATA_PRELOAD === 'import') await import('../layer/import-archive.js')
delete process.env.STRATA_PRELOAD

let input: string
try {
  input = readFileSync(3, 'utf8')
} catch {
  input = ''
}
// an early start that was never used: nothing to do
if (input) {
  const {op, args, resultFile} = JSON.parse(input)
  let out: string
  try {
    let result: unknown
    if (op === 'plan') result = await (await import('./plan.js')).executePlan(args.plan)
    else {
      const fn = (await import('./ops.js')).ops[op]
      if (!fn) throw new Error(`unknown namespace op '${op}'`)
      result = await fn(args)
    }
    out = JSON.stringify({ok: true, result})
  } catch (e) {
    out = JSON.stringify({ok: false, error: (await import('../cli/errors.js')).asStrataError(e).toJSON()})
  }
  writeFileSync(resultFile, out)
}
