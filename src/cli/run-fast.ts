// `strata run [--root] STACK -- CMD…` on the start-up path, without oclif
// (bundled into dist/run-fast.cjs, as the listings are, scripts/bundle.js): a run
// is judged by how fast it starts, and oclif's load costs more than the rest
// of it. Only the plain forms come here. Anything unusual — another flag, no
// store or stack, a mapping note or a protection this machine lacks, a lower
// tree to build, any error before the command starts — returns null, and the
// full command does it (and says what is wrong in its own words), so the two
// can't answer differently.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {Home, runtimeDir} from '../store/home.js'
import {resolveMapping} from '../runtime/idmap.js'
import {runInStack} from '../runtime/run.js'
import {sandboxRun} from '../runtime/sandbox.js'
import {checkStackName} from '../stack/stacks.js'

/** The ops a fast run leaves to the full command (building a lower tree, which loads the op table). */
const notFast = () => Promise.reject(new Error('not on the fast path'))

/** The command's status, or null when the full command should handle it. */
export async function runFast(argv: string[]): Promise<number | null> {
  const dashes = argv.indexOf('--')
  if (process.env.STRATA_NO_FAST || argv[0] !== 'run' || dashes < 0 || dashes === argv.length - 1) return null
  const own = argv.slice(1, dashes)
  const root = own.includes('--root')
  const words = own.filter((w) => w !== '--root')
  if (words.length !== 1 || words[0].startsWith('-') || own.length - words.length > 1) return null
  const stack = words[0]
  try {
    checkStackName(stack)
    runtimeDir() // an untrusted runtime directory is the full command's to refuse
    const home = new Home()
    if (!existsSync(join(home.stack(stack), 'stack.json'))) return null
    const m = resolveMapping(home)
    if (m.note) return null
    // a protection this machine lacks: sandboxSpec refuses it (no --security-opt here), and the full command says so
    const ops = {compose: notFast, flatten: notFast}
    const cmd = argv.slice(dashes + 1)
    const r = root ? await sandboxRun(home, m.mapping, stack, cmd, {}, ops) : await runInStack(home, m.mapping, stack, cmd, ops)
    return r.status
  } catch {
    // a run fails only before its command starts (a setup step, a lock, a lower tree to build), and
    // nothing was said yet: the full command does it again and says why
    return null
  }
}
