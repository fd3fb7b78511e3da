#!/usr/bin/env node
// The architecture check (docs/design.md, Layers): runs dependency-cruiser with
// .dependency-cruiser.cjs over a tree (default: this repository's src and
// commands) and prints each violation on a line. Exit 0 when there are none.
//   node scripts/architecture.js [DIR]     DIR holds src/ (and maybe commands/)
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = process.argv[2] ?? root
const targets = ['src', 'commands'].filter((d) => existsSync(join(dir, d)))
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json', ...targets], {cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28})
if (r.error || !r.stdout) {
  process.stderr.write(`architecture: dependency-cruiser did not run: ${r.error?.message ?? r.stderr}\n`)
  process.exit(2)
}
const violations = JSON.parse(r.stdout).summary.violations
for (const v of violations) {
  const path = v.cycle ? [v.from, ...v.cycle.map((c) => c.name ?? c)].join(' → ') : `${v.from} → ${v.to}`
  console.log(`${v.rule.name}: ${path}`)
}
process.exit(violations.length ? 1 : 0)
