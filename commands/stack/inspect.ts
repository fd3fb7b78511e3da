import {Args} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {StackStore, type StackInfo} from '../../src/stack/stacks.js'
import {composedPath, chainId} from '../../src/stack/compose.js'

export default class StackInspect extends StrataCommand {
  static summary = 'Show a stack'
  static examples = ['<%= config.bin %> stack inspect dev --json']
  static args = {name: Args.string({description: 'stack name', required: true, ignoreStdin: true})}

  async run(): Promise<StackInfo & {chain: string; paths: {upper: string; composed: string}}> {
    const {args} = await this.parse(StackInspect)
    const stacks = new StackStore(this.home.requireReadable())
    const s = stacks.get(args.name)
    const r = {...s, chain: chainId(s.layers), paths: {upper: stacks.upper(s.name), composed: composedPath(this.home, s.layers)}}
    this.out(`stack ${s.name}\n  layers (top first):\n${s.layers.map((l) => `    ${l}`).join('\n')}\n  mapping: ${s.mapping}\n  backend: ${s.backend}\n  created: ${s.created}\n  upper:   ${r.paths.upper}`)
    return r
  }
}
