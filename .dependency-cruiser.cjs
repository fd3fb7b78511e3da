// strata's architecture, checked by `npm test` (scripts/architecture.js):
// the layers of docs/design.md, top to bottom. A module may import modules of
// its own folder and of the layers below it, never above; no import cycles;
// nothing under src/ but src/cli/ imports oclif.
const layers = [
  ['commands', '^commands/'],
  ['cli', '^src/cli/'],
  ['services', '^src/services/'],
  ['care', '^src/care/'],
  ['runtime', '^src/runtime/'],
  ['stack', '^src/stack/'],
  ['import', '^src/import/'],
  ['export', '^src/export/'],
  ['registry', '^src/registry/'],
  ['layer', '^src/layer/'],
  ['store', '^src/store/'],
  ['format', '^src/format/'],
  ['base', '^src/[^/]+\\.ts$'],
]
// siblings that must not lean on each other either
const siblings = [['import', 'export'], ['import', 'registry'], ['export', 'registry']]
const rank = Object.fromEntries(layers.map(([n], i) => [n, i]))
const path = Object.fromEntries(layers)

const forbidden = [
  {name: 'no-circular', severity: 'error', comment: 'an import cycle', from: {}, to: {circular: true}},
  {
    name: 'no-oclif-in-core',
    severity: 'error',
    comment: 'the core knows nothing of oclif: only src/cli and commands use it',
    from: {path: '^src/', pathNot: '^src/cli/'},
    to: {path: 'node_modules/@oclif/'},
  },
]
for (const [name, re] of layers)
  for (const [above, aboveRe] of layers.slice(0, rank[name]))
    forbidden.push({name: `no-upward-${name}-to-${above}`, severity: 'error', comment: `${name} is below ${above}: it must not import it`, from: {path: re}, to: {path: aboveRe}})
for (const [a, b] of siblings)
  for (const [x, y] of [[a, b], [b, a]])
    forbidden.push({name: `no-sideways-${x}-to-${y}`, severity: 'error', comment: `${x} and ${y} are siblings: what both need goes below them`, from: {path: path[x]}, to: {path: path[y]}})

module.exports = {
  forbidden,
  options: {
    doNotFollow: {path: 'node_modules'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {extensions: ['.ts', '.js']},
  },
}
