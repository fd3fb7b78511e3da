// `strata run`: a fresh namespace mounts the stack and runs a command in the
// merged view (or joins the stack's session when it is mounted), passing its exit status back (128+signal when killed).
import {existsSync} from 'node:fs'
import type {Home} from '../store/home.js'
import {StackStore, backendOf} from '../stack/stacks.js'
import {lowerOf, mountSteps} from './backends.js'
import {runCommand, type Plan, type RunResult} from './plan.js'
import {Sessions} from './session.js'

export type {RunResult}
export {runCommand} from './plan.js'

type Enter = <T>(op: string, args: Record<string, unknown>, opts?: {stdin?: boolean}) => Promise<T>

export async function runInStack(home: Home, name: string, argv: string[], enter: Enter): Promise<RunResult> {
  const stacks = new StackStore(home)
  const stack = stacks.get(name)
  // a mounted stack has one writable session: join it rather than mount the upper twice
  const sessions = new Sessions(home)
  const session = await sessions.active(name)
  if (session) return runCommand(sessions.joinArgv(session, argv), '/')
  // building the lower tree is rare (cached per layer chain): its own trip into the namespace
  const backend = backendOf(stack)
  const lower = lowerOf(home, stack, backend)
  if (!existsSync(lower.path)) await enter(lower.build, {layers: stack.layers})
  const m = mountSteps(home, stack, backend)
  const plan: Plan = {steps: m.steps, run: {argv, cwd: stacks.merged(name)}, after: m.after}
  return enter<RunResult>('plan', {plan, stack: name}, {stdin: true})
}
