// The process strata starts inside `unshare`: reads one op from fd 3, runs
// it by the ops table, and leaves its result (or error) as JSON in the file
// the op names. Each op loads what it needs, or it was loaded before the op
// arrived when an early start said what it would be.
import {readFileSync, writeFileSync} from 'node:fs'
import type {OpName} from './ops.js'

// started early, while the outer process loads oclif: load what the op will need meanwhile
if (process.env.STRATA_PRELOAD === 'import') await import('../import/source.js')
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
    const {ops} = await import('./ops.js')
    if (!Object.hasOwn(ops, op)) throw new Error(`unknown namespace op '${op}'`)
    await storeFormatFor(op, args)
    const result = await (ops[op as keyof typeof ops] as (a: unknown) => Promise<unknown>)(args)
    out = JSON.stringify({ok: true, result})
  } catch (e) {
    out = JSON.stringify({ok: false, error: (await import('../errors.js')).asStrataError(e).toJSON()})
  }
  writeFileSync(resultFile, out)
}

/**
 * The store's format before an op: a store a newer strata made is refused
 * (exit 5), and an older one is upgraded by the first op that writes to it
 * (layer/upgrade.ts). Reading ops (export, diff, mounting) read either format.
 */
async function storeFormatFor(op: string, args: {home?: string; repair?: boolean}) {
  // the ops that write the store (push too: it records the blobs it made, so that a pull of them fetches nothing)
  const WRITES: OpName[] = ['import-archive', 'pull', 'push', 'stack-create', 'stack-rm', 'layer-rm', 'commit', 'reset', 'gc', 'check', 'compose', 'flatten']
  if (!args.home || op === 'stamp' || op === 'probe') return
  const {Home} = await import('../store/home.js')
  const home = new Home(args.home)
  const {checkStoreFormat, STORE_FORMAT} = await import('../store/store-file.js')
  if (checkStoreFormat(home) === STORE_FORMAT || !WRITES.includes(op as OpName) || (op === 'check' && !args.repair)) return
  const {upgradeStore} = await import('../layer/upgrade.js')
  upgradeStore(home)
}
