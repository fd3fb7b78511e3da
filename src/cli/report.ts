// The one way strata fails, without oclif: the fast paths (src/cli/fast.ts)
// and the oclif commands (command.ts) report alike.
import type {StrataError} from '../errors.js'

/** {"error": …} on stdout under --json, else one line on stderr naming the problem and its fix; the documented exit code. */
export function reportError(e: StrataError, json: boolean) {
  ;(json ? process.stdout : process.stderr).write(errorText(e, json))
  process.exitCode = e.exit
}

/** reportError's text: for stdout under --json, else for stderr */
export const errorText = (e: StrataError, json: boolean) =>
  json ? jsonText({error: e.toJSON()}) : `strata: ${e.message}${e.hint ? ` — ${e.hint}` : ''}\n`

/** What a command returns under --json, as oclif prints it (two-space indent, a newline). */
export function printJson(value: unknown) {
  process.stdout.write(jsonText(value))
}

export const jsonText = (value: unknown) => JSON.stringify(value, null, 2) + '\n'
