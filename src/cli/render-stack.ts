// The line every command that makes a stack prints (stack create, import
// --stack, pull --stack): one wording, with the backend the stack keeps.
import type {StackInfo} from '../stack/stacks.js'

export const createdStack = (s: Pick<StackInfo, 'name' | 'backend' | 'layers' | 'verity'>) => `created stack ${s.name} (${s.backend}${s.verity ? ', verity' : ''}): ${s.layers.map((l) => l.slice(0, 12)).join(' ')}`
