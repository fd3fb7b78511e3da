// `strata run`: a fresh namespace mounts the stack and runs a command in the
// merged view (or joins the stack's session when it is mounted), passing its
// exit status back (128+signal when killed). The namespace's side is
// strata-ns's (setup.ts): no second node starts.
import type {Home} from '../store/home.js'
import {StackStore, backendOf} from '../stack/stacks.js'
import {toolsEnv} from '../exec.js'
import {buildLower, forgetOnRefusal, mountSteps, type LowerOps} from './backends.js'
import {runCommand} from './command.js'
import {runInNamespace, type RunResult} from './setup.js'
import {Sessions, hasOverlayAt} from './session.js'
import {plainJoin, runJoined} from './session-state.js'
import {unshareArgs, type Mapping} from './idmap.js'

export type {RunResult}
export {runCommand} from './command.js'

export async function runInStack(home: Home, mapping: Mapping, name: string, argv: string[], ops: LowerOps): Promise<RunResult> {
  const stacks = new StackStore(home)
  const stack = stacks.get(name)
  // strata run inside `strata run` of the same stack (or exec in its session):
  // this process already sees the stack mounted; run the command in that view
  if (hasOverlayAt('self', stacks.merged(name), true)) return runCommand(argv, stacks.merged(name))
  // a mounted stack has one writable session: join it rather than mount the upper twice
  const sessions = new Sessions(home)
  const session = await sessions.active(name)
  if (session) return runJoined(plainJoin(session, argv))
  // building the lower tree is rare (cached per layer chain): its own trip into the namespace
  const backend = backendOf(stack)
  await buildLower(home, stack, backend, ops)
  return runInNamespace({
    launcher: ['unshare', ...unshareArgs(mapping), '--'],
    mode: ['--plain', stacks.merged(name)],
    setup: mountSteps(home, stack, backend),
    argv,
    env: {...process.env, ...toolsEnv()},
    // while this runs, no commit or reset may swap the upper underneath it (docs/design.md, Locking): strata-ns holds the stack
    // shared (a joined session's holder and an outer run already do)
    lock: {dir: stacks.dir(name), refused: (why) => stacks.lockRefused(name, why)},
  }).catch((e) => Promise.reject(forgetOnRefusal(home, e)))
}
