// `strata run`: a fresh namespace mounts the stack and runs a command in the
// merged view (or joins the stack's session when it is mounted), passing its exit status back (128+signal when killed).
import {existsSync} from 'node:fs'
import type {Home} from '../store/home.js'
import {StackStore, backendOf} from '../stack/stacks.js'
import {lowerOf, mountSteps} from './backends.js'
import {runCommand, type Plan, type RunResult} from './plan.js'
import {Sessions, hasOverlayAt} from './session.js'
import {plainJoin, runJoined} from './session-state.js'
import type {OpCall} from './enter.js'

export type {RunResult}
export {runCommand} from './plan.js'

type BuildLower = OpCall<{layers: string[]}, {path: string}>

export async function runInStack(home: Home, name: string, argv: string[], ops: {plan: OpCall<{plan: Plan; stack?: string}, RunResult>; compose: BuildLower; flatten: BuildLower}): Promise<RunResult> {
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
  const lower = lowerOf(home, stack, backend)
  if (!existsSync(lower.path)) await ops[lower.build]({layers: stack.layers})
  const m = mountSteps(home, stack, backend)
  const plan: Plan = {steps: m.steps, run: {argv, cwd: stacks.merged(name)}, after: m.after}
  return ops.plan({plan, stack: name}, {stdin: true})
}
