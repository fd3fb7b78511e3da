// check finds damage (exit 6) and repairs what can be; gc removes only what
// nothing uses, and never runs beside a command adding to the store.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFileSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, inNs, tmp} from './helpers.js'

const big = (c) => c.repeat(500)

test('check: ok, then damaged objects and trees are found, leftovers repaired', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  writeFileSync(join(src, 'a'), big('a'))
  writeFileSync(join(src, 'b'), big('b'))
  const l = strata(home, ['import', src, '--name', 'l', '--json']).json.layer
  assert.equal(strata(home, ['stack', 'create', 's', 'l']).status, 0)

  let r = strata(home, ['check', '--json'])
  assert.equal(r.status, 0, r.stdout)
  assert.deepEqual(r.json.counts, {layers: 1, objects: 2, stacks: 1})

  // a leftover of an interrupted command is not damage, and --repair removes it
  inNs(['mkdir', '-p', join(home, 'tmp', 'import-999999999-dead')])
  r = strata(home, ['check', '--json'])
  assert.equal(r.status, 0)
  assert.equal(r.json.leftovers.length, 1)
  r = strata(home, ['check', '--repair', '--json'])
  assert.equal(r.status, 0)
  assert.equal(strata(home, ['check', '--json']).json.leftovers.length, 0)

  // an object whose content changed
  const objs = inNs(['find', join(home, 'objects'), '-type', 'f']).stdout.toString().trim().split('\n')
  inNs(['sh', '-c', 'chmod u+w "$1" && printf X | dd of="$1" bs=1 seek=10 conv=notrunc status=none', 'sh', objs[0]])
  r = strata(home, ['check', '--json'])
  assert.equal(r.status, 6, r.stdout)
  assert.ok(r.json.problems.some((p) => p.kind === 'object' && /no longer matches/.test(p.message)))
  assert.ok(r.json.problems.some((p) => p.kind === 'layer' && /damaged object/.test(p.message)))
  assert.equal(strata(home, ['check', '--quick']).status, 0, '--quick does not rehash data')
  r = strata(home, ['check', '--repair', '--json'])
  assert.equal(r.status, 6)
  assert.ok(r.json.repaired.some((x) => /moved damaged object/.test(x)))
  r = strata(home, ['check', '--json'])
  assert.ok(r.json.problems.some((p) => /missing object/.test(p.message)), JSON.stringify(r.json.problems))
  // importing the source again restores the object
  assert.equal(strata(home, ['import', src]).status, 0)
  assert.equal(strata(home, ['check']).status, 0)

  // a layer tree changed behind strata's back
  inNs(['chmod', '600', join(home, 'layers', l.id, 'tree', 'a')])
  r = strata(home, ['check'])
  assert.equal(r.status, 6)
  assert.match(r.stdout, /tree was changed/)
})

test('gc removes only what nothing uses, and waits for no one', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const keep = tmp('strata-src-')
  const drop = tmp('strata-src-')
  writeFileSync(join(keep, 'shared'), big('s'))
  writeFileSync(join(drop, 'shared'), big('s'))
  writeFileSync(join(drop, 'only-here'), big('o'))
  assert.equal(strata(home, ['import', keep, '--name', 'keep']).status, 0)
  assert.equal(strata(home, ['import', drop, '--name', 'drop']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'k', 'keep']).status, 0)
  // a stack on the kernel-flat backend: its run materializes a full copy of the chain
  assert.equal(strata(home, ['stack', 'create', 'd', 'drop', '--backend', 'kernel-flat']).status, 0)
  assert.equal(strata(home, ['run', 'd', '--', 'true']).status, 0)
  assert.equal(readdirSync(join(home, 'cache', 'flat')).length, 1)
  assert.equal(strata(home, ['stack', 'rm', 'd']).status, 0)
  assert.equal(strata(home, ['layer', 'rm', 'drop']).status, 0)

  let r = strata(home, ['gc', '--dry-run', '--json'])
  assert.equal(r.status, 0)
  assert.equal(r.json.objects.removed, 1)
  assert.equal(r.json.composed.removed, 1)
  assert.deepEqual(r.json.flat, {removed: 1, kept: 0}, 'the removed stack\'s materialized tree')
  assert.deepEqual(r.json.digests, {removed: 1, kept: 1}, 'the digests of the source whose layer is gone')
  assert.equal(strata(home, ['gc', '--dry-run', '--json']).json.objects.removed, 1, 'a dry run removes nothing')

  // beside a command holding the store's lock shared (as an import does), gc refuses
  const holder = spawn('flock', ['-s', '-o', join(home, 'lock'), 'sh', '-c', 'echo locked; exec sleep 30'], {stdio: ['ignore', 'pipe', 'ignore']})
  t.after(() => holder.kill())
  await new Promise((res) => holder.stdout.once('data', res)) // it holds the lock
  r = strata(home, ['gc', '--json'])
  assert.equal(r.status, 4, r.stdout)
  assert.match(r.json.error.message, /the store is busy/)
  holder.kill()
  await new Promise((res) => holder.on('exit', res))

  r = strata(home, ['gc', '--json'])
  assert.equal(r.status, 0, r.stdout)
  assert.equal(r.json.objects.removed, 1)
  assert.equal(r.json.objects.kept, 1)
  assert.deepEqual(readdirSync(join(home, 'cache', 'flat')), [])
  assert.equal(readdirSync(join(home, 'cache', 'digests')).length, 1)
  assert.equal(strata(home, ['check']).status, 0)
  // the source whose digests were kept imports again at once, as the same layer
  const again = strata(home, ['import', keep, '--json'])
  assert.equal(again.json.existing, true)
  assert.equal(strata(home, ['run', 'k', '--', 'cat', 'shared']).stdout, big('s'))
})

test('a layer damaged from outside is named when an import would publish it again, not reported as a bug', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  writeFileSync(join(src, 'f'), 'x'.repeat(500))
  const l = strata(home, ['import', src, '--json']).json.layer
  inNs(['rm', join(home, 'layers', l.id, 'layer.json')])
  const r = strata(home, ['import', src])
  assert.equal(r.status, 6, r.stderr)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.match(lines[0], new RegExp(`layer ${l.id.slice(0, 12)} is in the store but damaged .* — run \`strata check\``))
  assert.equal(strata(home, ['check']).status, 6, 'check names the damage too')
})
