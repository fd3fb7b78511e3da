// The architecture rules (docs/design.md, Layers), checked by
// dependency-cruiser: this repository keeps them, and the check does catch a
// cycle and an upward import (a small fixture tree holds one of each).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {root} from './helpers.js'

const check = (dir) => spawnSync(process.execPath, [join(root, 'scripts', 'architecture.js'), ...(dir ? [dir] : [])], {encoding: 'utf8'})

test('src/ and commands/ keep the layers: no cycle, nothing imports upward, no oclif in the core', () => {
  const r = check()
  assert.equal(r.status, 0, `violations:\n${r.stdout}${r.stderr}`)
})

test('the check reports a cycle and an upward import in a fixture tree', () => {
  const r = check(join(root, 'test', 'fixtures', 'architecture'))
  assert.equal(r.status, 1, r.stderr)
  const lines = r.stdout.trim().split('\n').sort()
  assert.deepEqual(lines, [
    'no-circular: src/format/a.ts → src/format/b.ts → src/format/a.ts',
    'no-upward-store-to-layer: src/store/objects.ts → src/layer/layers.ts',
  ])
})
