// The process strata starts inside `unshare`: runs one op and leaves its
// result (or error) as JSON in the file the outer process named.
import {writeFileSync} from 'node:fs'
import {ops} from './ops.js'
import {asStrataError} from '../cli/errors.js'

const [op, argsJson, resultFile] = process.argv.slice(2)
let out: string
try {
  const fn = ops[op]
  if (!fn) throw new Error(`unknown namespace op '${op}'`)
  out = JSON.stringify({ok: true, result: await fn(JSON.parse(argsJson))})
} catch (e) {
  out = JSON.stringify({ok: false, error: asStrataError(e).toJSON()})
}
writeFileSync(resultFile, out)
