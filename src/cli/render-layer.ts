// What a new layer left out or changed, as warnings: device nodes and sockets
// (skipped), owners outside the id mapping (not kept). skipped.paths names the
// skipped entries first, then the entries whose owner wasn't kept.
import type {LayerInfo} from '../layer/layers.js'
import {count, firstFew} from './words.js'

export function skippedWarnings(l: LayerInfo): string[] {
  const s = l.skipped
  const out: string[] = []
  const left = s.devices + s.sockets
  if (left > 0) out.push(`skipped ${count(s.devices, 'device node')} and ${count(s.sockets, 'socket')} (they can't be kept rootless): ${firstFew(s.paths.slice(0, left), left)}`)
  if (s.squashedOwners > 0) {
    const owners = s.paths.slice(Math.max(0, s.paths.length - s.squashedOwners))
    out.push(
      `${count(s.squashedOwners, 'entry', 'entries')} had an owner outside your id mapping, which strata can't keep: ${firstFew(owners, s.squashedOwners)} ` +
        `(an owner read as 65534 keeps 65534, nobody; one the mapping can't hold becomes yours, 0; \`strata layer inspect ${l.id.slice(0, 12)} --json\` lists them)`,
    )
  }
  return out
}
