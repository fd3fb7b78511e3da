// Which argument or flag takes which kind of dynamic value, for shell completion.
// Everything else completion knows (commands, flags, fixed value sets, descriptions)
// comes from oclif.manifest.json, so new commands need no change here unless an
// argument's name doesn't say what it takes. Imported on the keystroke path: no imports.

/**
 * stack: stack names; layer: layer names and id prefixes; mounted: stacks with a live
 * session; file: any path; dir: directories only; none: nothing to offer.
 */
export type ValueKind = 'stack' | 'layer' | 'mounted' | 'file' | 'dir' | 'none'

/** Exceptions to the convention, keyed by `<command id> <arg name>` or `<command id> --<flag name>`. */
export const valueKinds: Record<string, ValueKind> = {
  'stack:create name': 'none', // a new name
  'stack:inspect name': 'stack',
  'stack:rm name': 'stack',
  'exec stack': 'mounted',
  'shell stack': 'mounted',
  'umount stack': 'mounted',
  'path stack': 'mounted',
  'run --workdir': 'none', // a path inside the stack, not on the host
  'import --name': 'none',
}

/** The convention: an argument or flag named like this takes that kind of value. */
const byName: Record<string, ValueKind> = {
  stack: 'stack',
  stacks: 'stack',
  layer: 'layer',
  layers: 'layer',
  source: 'file',
  file: 'file',
  path: 'file',
  output: 'file',
  volume: 'file',
  dir: 'dir',
  directory: 'dir',
  tree: 'dir',
}

/** name: an argument's name, or `--flag`. */
export function valueKind(commandId: string, name: string): ValueKind {
  return valueKinds[`${commandId} ${name}`] ?? byName[name.replace(/^--/, '')] ?? 'none'
}
