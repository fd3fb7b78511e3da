// The policy of the verbs that replace or remove a stack's upper (commit,
// reset, stack rm): the stack must exist, and must not be mounted — a
// session would keep writing the old upper — unless force stops the session
// first. Then the verb's own op runs.
import type {Home} from '../store/home.js'
import {StackStore} from '../stack/stacks.js'
import {Sessions} from '../runtime/session.js'

export async function onUnmountedStack<R>(home: Home, stack: string, force: boolean | undefined, op: () => Promise<R>): Promise<R> {
  new StackStore(home).get(stack) // not found: say so before anything else
  await new Sessions(home).ensureUnmounted(stack, force === true)
  return op()
}
