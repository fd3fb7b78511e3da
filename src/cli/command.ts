// What every strata command shares: --json, the store, and one way to fail:
// a one-line message and hint on stderr (or {"error": …} on stdout under
// --json) and the documented exit code.
import {Command, Errors, Flags} from '@oclif/core'
import {Home, runtimeDir} from '../store/home.js'
import {StrataError, asStrataError, usage} from '../errors.js'
import {type Mapping, recordMapping, resolveMapping} from '../runtime/idmap.js'
import {existsSync} from 'node:fs'
import {inNamespace} from '../runtime/enter.js'
import {opNames, type ArgsOf, type OpCalls, type OpName, type ResultOf} from '../services/ops.js'
import {autoBackend, checkForcedBackend, forgetOnRefusal} from '../runtime/backends.js'
import {reportError} from './report.js'
import type {View} from './views.js'
import {type Backend, checkBackend} from '../stack/stacks.js'

let noted = false

export abstract class StrataCommand extends Command {
  static enableJsonFlag = true

  private _home?: Home
  protected get home(): Home {
    return (this._home ??= new Home())
  }

  /** Runs an op inside the store's user namespace. */
  protected async inNamespace<K extends OpName>(op: K, args: ArgsOf<K>, opts: {map?: string} = {}): Promise<ResultOf<K>> {
    runtimeDir() // an untrusted runtime directory is refused before anything is said or started
    const m = resolveMapping(this.home, opts.map)
    if (m.note && !noted) {
      noted = true
      process.stderr.write(`strata: warning: ${m.note}\n`)
    }
    // the store's first writing command chooses its mapping: an import or a pull makes a store; other
    // ops (gc on a fresh STRATA_HOME) may make an empty skeleton, which chooses nothing
    const chooses = m.record && op !== 'probe' && op !== 'stamp' && (op === 'import-archive' || op === 'pull' || existsSync(this.home.layers))
    let r: ResultOf<K>
    try {
      r = await inNamespace<ResultOf<K>>(op, {home: this.home.root, mapping: m.mapping, progress: !this.jsonEnabled(), ...args})
    } catch (e) {
      throw forgetOnRefusal(this.home, e)
    }
    // the mapping is the store's once a command that writes it has worked with it (a probe writes nothing of the store's)
    if (chooses && existsSync(this.home.layers)) recordMapping(this.home, m.mapping)
    return r
  }

  /**
   * The table's ops as calls, handed to core code that needs some of them
   * (runtime's run and sandbox, doctor): what that code expects of each is
   * checked against the table by the compiler where it is handed in.
   */
  protected ops(map?: string): OpCalls {
    const call = (op: OpName) => (args: never, opts: {stdin?: boolean; launcher?: string[]} = {}) => this.inNamespace(op, args, {...opts, map})
    return Object.fromEntries(opNames.map((op) => [op, call(op)])) as OpCalls
  }

  /** The store's id mapping, given --map (else STRATA_MAP): see runtime/idmap.ts, resolveMapping. */
  protected mapping(flag?: string): Mapping {
    return resolveMapping(this.home, flag).mapping
  }

  /** The backend for a new stack: as asked (--backend, STRATA_BACKEND), or the first that works here. */
  protected async backend(requested?: string): Promise<Backend> {
    const b = checkBackend(requested ?? process.env.STRATA_BACKEND ?? 'auto')
    const probe = () => this.inNamespace('probe', {})
    return b === 'auto' ? autoBackend(this.home, probe) : checkForcedBackend(this.home, b, probe)
  }

  /** strata's one-line warning on stderr (not oclif's wrapped form); none under --json, whose document says it. */
  warn(input: string | Error): string | Error {
    if (this.jsonEnabled()) return input
    process.stderr.write(`strata: warning: ${typeof input === 'string' ? input : input.message}\n`)
    return input
  }

  protected out(line: string) {
    if (!this.jsonEnabled()) this.log(line)
  }

  /** Renders a view (src/cli/views.ts): its table, its warnings on stderr, its document under --json. */
  protected show<T>(v: View<T>): T {
    this.out(v.text)
    if (!this.jsonEnabled()) for (const w of v.warnings ?? []) process.stderr.write(`strata: ${w}\n`)
    return v.json
  }

  async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    reportError(toStrataError(err, this.id, this.argv, (this.ctor as unknown as {flags?: Record<string, FlagSpec>}).flags), this.jsonEnabled())
  }
}


interface FlagSpec {char?: string; description?: string}

/** oclif's parse errors (unknown flag, missing argument or flag, a value outside a set) as usage errors, on one line, saying what to give. */
function toStrataError(err: Error & {oclif?: {exit?: number}; args?: {name: string; description?: string}[]; flags?: string[]}, id?: string, argv: string[] = [], flags: Record<string, FlagSpec> = {}): StrataError {
  if (err instanceof StrataError) return err
  const parsed = err // oclif's parse errors carry the args or flags at fault
  if (!(err instanceof Errors.CLIError && (err.oclif?.exit === 2 || /flag|argument|arg\b|Unexpected/i.test(err.message)))) return asStrataError(err)
  const command = `strata ${id ? id.replace(/:/g, ' ') + ' ' : ''}`
  const help = `see \`${command}--help\``
  const lines = err.message.split('\n').map((l) => l.trim()).filter((l) => l && !/^See more help/i.test(l) && !/^Note:|^Alternatively,/.test(l))
  // a missing argument: its name, and what it is
  if (parsed.args?.length) {
    const a = parsed.args[0]
    return usage(`missing ${a.name.toUpperCase()}${a.description ? ` (${a.description})` : ''}`, help)
  }
  // an unknown flag: for run and exec, meant either for strata (before --) or for the command (no -- given)
  if (parsed.flags?.length) {
    const flag = parsed.flags[0]
    const dashes = argv.indexOf('--')
    if ((id === 'run' || id === 'exec') && dashes < 0)
      return usage(`unknown flag ${flag}`, `a command with flags goes after --: \`strata ${id} STACK -- CMD ARGS...\``)
    return usage(`${command.trim()} has no flag ${flag}`, id === 'run' || id === 'exec' || id === 'shell' ? `${help} (its output is the command's: no --json)` : help)
  }
  // "The following errors occurred:" and a list: the reasons themselves, a missing required flag with what to give
  const reasons = /^The following errors? occurred:?$/.test(lines[0]) ? lines.slice(1) : lines
  const required = /^Missing required flag (\S+)$/.exec(reasons[0] ?? '')
  if (required) {
    const f = flags[required[1]] ?? {}
    return usage(`missing --${required[1]}${f.char ? ` (-${f.char})` : ''}`, `give ${f.char ? `-${f.char}` : `--${required[1]}`}${f.description ? `: ${f.description}` : ''}`)
  }
  // several reasons are often one said twice (--a with --b, --b with --a): the first, plainly
  return usage(reasons.slice(0, 1).join('').concat((reasons[0]?.endsWith(':') || reasons[0]?.startsWith('Parsing ')) && reasons[1] ? `${reasons[0].endsWith(':') ? '' : ':'} ${reasons[1]}` : '').replace(/=true\b/g, '').replace(/:$/, ''), help)
}

/** `strata run -- ls`: oclif takes the command for the stack; say the stack is what's missing. */
export function checkStackBeforeDashes(raw: string[], stack: string, id: string) {
  const dashes = raw.indexOf('--')
  if (dashes >= 0 && raw.indexOf(stack) > dashes) throw usage('no stack given', `name it before --: \`strata ${id} STACK -- CMD...\``)
}

/** --map, on every command that may be a store's first writer (which records the mapping): later ones must agree. */
export const mapFlag = Flags.string({description: "id mapping of a new store: auto (several owners kept) or single (your id only); the store's first writing command chooses it, later ones must agree (default: $STRATA_MAP, else auto where it can be had)", options: ['auto', 'single']})

export {Flags, reportError}
