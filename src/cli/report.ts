// The one way strata fails, without oclif: the fast paths (src/cli/fast.ts)
// and the oclif commands (command.ts) report alike.
import type {StrataError} from '../errors.js'

/** {"error": …} on stdout under --json, else one line on stderr naming the problem and its fix; the documented exit code. */
export function reportError(e: StrataError, json: boolean) {
  if (json) process.stdout.write(JSON.stringify({error: e.toJSON()}, null, 2) + '\n')
  else process.stderr.write(`strata: ${e.message}${e.hint ? ` — ${e.hint}` : ''}\n`)
  process.exitCode = e.exit
}

/** What a command returns under --json, as oclif prints it (two-space indent, a newline). */
export function printJson(value: unknown) {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}
