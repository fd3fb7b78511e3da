// What every strata command shares: --json, the store, and one way to fail:
// a one-line message and hint on stderr (or {"error": …} on stdout under
// --json) and the documented exit code.
import {Command, Errors, Flags} from '@oclif/core'
import {Home} from '../store/home.js'
import {StrataError, asStrataError, usage} from '../errors.js'
import {type Mapping, resolveMapping} from '../runtime/idmap.js'
import {inNamespace} from '../runtime/enter.js'
import {opNames, type ArgsOf, type OpCalls, type OpName, type ResultOf} from '../services/ops.js'
import {autoBackend} from '../runtime/backends.js'
import {reportError} from './report.js'
import type {View} from './views.js'
import {type Backend, checkBackend} from '../stack/stacks.js'

export abstract class StrataCommand extends Command {
  static enableJsonFlag = true

  private _home?: Home
  protected get home(): Home {
    return (this._home ??= new Home())
  }

  /** Runs an op inside the store's user namespace. */
  protected async inNamespace<K extends OpName>(op: K, args: ArgsOf<K>, opts: {stdin?: boolean; map?: string; launcher?: string[]} = {}): Promise<ResultOf<K>> {
    const mapping = this.mapping(opts.map)
    return inNamespace<ResultOf<K>>(op, {home: this.home.root, mapping, progress: !this.jsonEnabled(), ...args}, {stdin: opts.stdin, launcher: opts.launcher})
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
    return resolveMapping(this.home, flag)
  }

  /** The backend for a new stack: as asked (--backend, STRATA_BACKEND), or the first that works here. */
  protected async backend(requested?: string): Promise<Backend> {
    const b = checkBackend(requested ?? process.env.STRATA_BACKEND ?? 'auto')
    return b === 'auto' ? autoBackend(this.home, () => this.inNamespace('probe', {})) : b
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
    reportError(toStrataError(err, this.id), this.jsonEnabled())
  }
}


function toStrataError(err: Error & {oclif?: {exit?: number}}, id?: string): StrataError {
  if (err instanceof StrataError) return err
  // oclif's own parse errors (unknown flag, missing argument): usage, on one line
  if (err instanceof Errors.CLIError && (err.oclif?.exit === 2 || /flag|argument|Unexpected/i.test(err.message))) {
    const [first, ...more] = err.message.split('\n').map((l) => l.trim()).filter((l) => l && !/^See more help/i.test(l))
    const names = more.map((l) => l.split(/\s{2,}/)[0]).join(', ')
    // `strata run S ls -la`: the command's own flags were taken for ours
    const hint = (id === 'run' || id === 'exec') && /Nonexistent flag/.test(first)
      ? `a command with flags goes after --: \`strata ${id} STACK -- CMD ARGS...\``
      : `see \`strata ${id ? id.replace(/:/g, ' ') + ' ' : ''}--help\``
    return usage(names ? `${first.replace(/:$/, '')}: ${names}` : first, hint)
  }
  return asStrataError(err)
}

export {Flags, reportError}
