// `strata exec STACK -- CMD` on the start-up path, without oclif: when the
// stack has a running session, join it at once. Anything else (flags, no
// session, a stale one, a bad name) returns null and the full command
// handles it, errors included.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {Home} from '../store/home.js'
import {isRunning, joinCommand, readSession, runJoined} from './session-state.js'

export async function execFast(stack: string, cmd: string[]): Promise<number | null> {
  if (cmd.length === 0 || !stack || stack.startsWith('-') || stack === '.' || stack === '..' || /[/\x00-\x1f\x7f]/.test(stack)) return null
  const home = new Home()
  if (!existsSync(join(home.stack(stack), 'stack.json'))) return null
  let s
  try {
    s = readSession(home, stack)
  } catch {
    return null // the full command says what is wrong
  }
  if (!s || !isRunning(s)) return null
  // a root session too: joinCommand knows how to go into its sandbox
  // a setup failure (strata-ns on fd 3) came before the command: the full command tries again and says why
  const r = await runJoined(joinCommand(s, cmd))
  return r.failed ? null : r.status
}
