// Crashes: every command that publishes into the store is killed (SIGKILL,
// through the STRATA_TEST_CRASH_AT hook in src/store/fsutil.ts) on entry to
// each of its publishing renames and swaps in turn. After each: the command
// says it was killed (exit 5, never "a bug"), `check` is clean or `check
// --repair` makes it so and leaves nothing under tmp/, the stack mounts and
// reads back as before the command or as after it, and the command run again
// succeeds.
import {test, before} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {createHash, randomBytes} from 'node:crypto'
import {strata, newHome, cleanHome, inNs, tmp} from './helpers.js'
import {makeRootfs} from './fixtures/rootfs.js'

const CRASHED = /strata: test crash at step (\d+) \(([\w-]+)\)/
let template, src, src2, bigDigest

function ok(home, args, opts) {
  const r = strata(home, args, opts)
  assert.equal(r.status, 0, `strata ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`)
  return r
}
// a plain run's command runs in the merged view (its working directory)
const cat = (home, stack, path) => ok(home, ['run', stack, '--', 'cat', '.' + path]).stdout
const upperEntries = (home, stack) => inNs(['ls', '-A', join(home, 'stacks', stack, 'upper')]).stdout.toString().split('\n').filter(Boolean)
const layersOf = (home, stack) => ok(home, ['stack', 'inspect', stack, '--json']).json.layers.length

before(() => {
  src = makeRootfs(tmp('strata-crash-src-'))
  mkdirSync(join(src, 'data'))
  writeFileSync(join(src, 'etc', 'greeting'), 'hello\n')
  writeFileSync(join(src, 'etc', 'gone'), 'to be deleted\n')
  const big = randomBytes(100000) // an object
  writeFileSync(join(src, 'data', 'big'), big)
  bigDigest = createHash('sha256').update(big).digest('hex').slice(0, 16)
  src2 = tmp('strata-crash-src2-')
  writeFileSync(join(src2, 'extra'), 'from the second layer\n'.repeat(10))
  template = newHome()
  ok(template, ['import', src, '--name', 'base'])
  ok(template, ['import', src2, '--name', 'extra'])
  ok(template, ['stack', 'create', 'S', 'base'])
  ok(template, ['stack', 'create', 'T', 'base'])
  // S's upper holds changes: a file rewritten, one added, one deleted
  ok(template, ['run', 'S', '--', 'sh', '-c', 'set -e; echo changed > etc/greeting; echo new > etc/added; head -c 70000 data/big > data/part; rm etc/gone'])
})

/** A fresh copy of the template store (inside the namespace: its files have mapped owners). */
function fresh(t) {
  const home = newHome()
  t.after(() => cleanHome(home))
  inNs(['cp', '-a', template, home])
  return home
}

/**
 * Runs args in a fresh store, killed at publishing step 1, 2, ... until a
 * run completes without reaching the step; after each crash, verify(home)
 * checks the store, and again() runs the command once more. Returns the
 * names of the steps crashed at.
 */
function eachCrash(t, args, {env = {}, verify, again = args}) {
  const names = []
  for (let n = 1; n < 30; n++) {
    const home = fresh(t)
    const r = strata(home, args, {env: {...env, STRATA_TEST_CRASH_AT: String(n)}})
    const m = CRASHED.exec(r.stderr)
    if (!m) {
      assert.equal(r.status, 0, `${args.join(' ')} with no crash: ${r.stderr}`)
      assert.ok(n > 1, `${args.join(' ')} passed no publishing step`)
      cleanHome(home)
      return names
    }
    assert.equal(Number(m[1]), n)
    names.push(m[2])
    const at = `${args.join(' ')} killed at step ${n} (${m[2]})`
    // the command says what happened, and what to do
    assert.equal(r.status, 5, `${at}: ${r.stderr}`)
    assert.match(r.stderr, /killed \(SIGKILL\).*strata check --repair/, at)
    assert.doesNotMatch(r.stderr, /bug in strata/, at)
    // check is clean, or --repair makes it so, and nothing is left under tmp/
    let c = strata(home, ['check', '--json'])
    if (c.status !== 0) {
      assert.equal(c.status, 6, `${at}: check: ${c.stdout}${c.stderr}`)
      const rep = strata(home, ['check', '--repair', '--json'])
      assert.equal(rep.status, 0, `${at}: check --repair: ${rep.stdout}${rep.stderr}`)
    } else ok(home, ['check', '--repair'])
    c = strata(home, ['check', '--json'])
    assert.equal(c.status, 0, `${at}: check after repair: ${c.stdout}`)
    assert.deepEqual(c.json.problems, [], at)
    assert.deepEqual(readdirSync(join(home, 'tmp')), [], `${at}: tmp/ after check --repair`)
    verify(home, at, 'crashed')
    // the command run again succeeds, and the store is as after it
    const r2 = strata(home, again)
    assert.equal(r2.status, 0, `${at}: run again: ${r2.stderr}`)
    verify(home, at, 'again')
    assert.equal(strata(home, ['check']).status, 0, `${at}: check after the command ran again`)
    cleanHome(home)
  }
  assert.fail(`${args.join(' ')} never completed`)
}

/** What S shows of the files its changes touch, read in one run: each file's content, or '-' when it is absent. */
function view(home) {
  const script = 'for f in etc/greeting etc/added etc/gone; do if [ -e $f ]; then cat $f; else echo -; fi; done; if [ -e data/part ]; then wc -c < data/part; else echo -; fi; sha256sum < data/big | cut -c1-16'
  return ok(home, ['run', 'S', '--', 'sh', '-c', script]).stdout.split('\n').map((l) => l.trim()).filter(Boolean)
}
// the object's content, read through the stub (a missing or damaged object shows here)
const CHANGED = () => ['changed', 'new', '-', '70000', bigDigest]
const ORIGINAL = () => ['hello', '-', 'to be deleted', '-', bigDigest]

/** S reads back with its changes: what commit keeps, before it and after. */
function changedView(home, at) {
  assert.deepEqual(view(home), CHANGED(), at)
}

for (const [label, env] of [['', {}], [' (no RENAME_EXCHANGE: two renames, mended)', {STRATA_TEST_NO_EXCHANGE: '1'}]]) {
  test(`crash: commit killed at each publishing step${label}`, (t) => {
    const names = eachCrash(t, ['commit', 'S'], {
      env,
      verify(home, at, when) {
        changedView(home, at)
        const layers = layersOf(home, 'S')
        if (when === 'again') {
          // committed: the changes are in a layer, the upper is empty
          assert.ok(layers >= 2, at)
          assert.deepEqual(upperEntries(home, 'S'), [], at)
        } else if (layers === 1) assert.ok(upperEntries(home, 'S').length > 0, `${at}: before, the upper holds the changes`)
      },
    })
    for (const step of ['layer-publish', 'compose', 'stack-json', env.STRATA_TEST_NO_EXCHANGE ? 'stack-upper-in' : 'stack-upper', env.STRATA_TEST_NO_EXCHANGE ? 'stack-work-in' : 'stack-work'])
      assert.ok(names.includes(step), `commit crashed at ${step} (it crashed at ${names.join(', ')})`)
  })

  test(`crash: reset killed at each publishing step${label}`, (t) => {
    const names = eachCrash(t, ['reset', 'S'], {
      env,
      verify(home, at, when) {
        const v = view(home)
        // as after (the changes gone), or as before
        if (when === 'again') {
          assert.deepEqual(v, ORIGINAL(), at)
          assert.deepEqual(upperEntries(home, 'S'), [], at)
        } else assert.ok([ORIGINAL(), CHANGED()].some((w) => JSON.stringify(w) === JSON.stringify(v)), `${at}: ${v}`)
      },
    })
    assert.ok(names.includes(env.STRATA_TEST_NO_EXCHANGE ? 'stack-upper-in' : 'stack-upper'), names.join(', '))
  })
}

test('crash: stack create killed at each publishing step', (t) => {
  const names = eachCrash(t, ['stack', 'create', 'N', 'extra', 'base'], {
    verify(home, at, when) {
      const has = strata(home, ['stack', 'inspect', 'N']).status === 0
      if (when === 'crashed') assert.equal(has, false, `${at}: a killed create leaves no stack`)
      else {
        assert.equal(cat(home, 'N', '/extra'), 'from the second layer\n'.repeat(10), at)
        assert.equal(cat(home, 'N', '/etc/greeting'), 'hello\n', at)
      }
    },
  })
  assert.deepEqual(names, ['compose', 'stack-create'])
})

test('crash: stack rm and layer rm killed at each publishing step', (t) => {
  let names = eachCrash(t, ['stack', 'rm', 'T'], {
    verify(home, at, when) {
      const has = strata(home, ['stack', 'inspect', 'T']).status === 0
      assert.equal(has, when === 'crashed', at)
      if (has) assert.equal(cat(home, 'T', '/etc/greeting'), 'hello\n', at)
    },
  })
  assert.deepEqual(names, ['stack-rm'])
  names = eachCrash(t, ['layer', 'rm', 'extra'], {
    verify(home, at, when) {
      assert.equal(strata(home, ['layer', 'inspect', 'extra']).status, when === 'crashed' ? 0 : 3, at)
      assert.equal(cat(home, 'S', '/etc/greeting'), 'changed\n', at)
    },
  })
  assert.deepEqual(names, ['layer-rm'])
})

test('crash: import killed at each publishing step, its name moving from another layer', (t) => {
  const src3 = tmp('strata-crash-src3-')
  writeFileSync(join(src3, 'third'), 'third layer\n'.repeat(20))
  writeFileSync(join(src3, 'small'), 'inline\n')
  const names = eachCrash(t, ['import', src3, '--name', 'extra'], {
    verify(home, at, when) {
      const layers = ok(home, ['layer', 'list', '--json']).json.layers
      // the name is never lost: on the old layer, the new one, or (between its two writes) both
      assert.ok(layers.some((l) => l.names.includes('extra')), `${at}: the name 'extra' is on some layer`)
      if (when === 'again') {
        assert.equal(layers.filter((l) => l.names.includes('extra')).length, 1, at)
        ok(home, ['stack', 'create', 'X', 'extra', 'base'])
        assert.equal(cat(home, 'X', '/third'), 'third layer\n'.repeat(20), at)
        assert.equal(cat(home, 'X', '/small'), 'inline\n', at)
      }
    },
  })
  for (const step of ['layer-publish', 'layer-json', 'digest-cache']) assert.ok(names.includes(step), names.join(', '))
})

for (const mender of ['check --repair', 'gc']) {
  test(`${mender} puts back an upper that an older strata displaced into tmp/ (two renames, killed between)`, (t) => {
    const home = fresh(t)
    // what the two-rename swap left when killed between its renames: the live upper in tmp/, the fresh one beside it
    const dead = spawnSync('true').pid
    const staging = join(home, 'tmp', `upper-${dead}-0123456789ab`)
    inNs(['sh', '-c', 'set -e; mkdir "$1"; mv "$2/upper" "$1/old-upper"; mkdir "$1/new-upper" "$1/new-work"; rm -rf "$2/work"', 'sh', staging, join(home, 'stacks', 'S')])
    // a mount says what is wrong and what mends it, where the kernel would only point at dmesg
    let r = strata(home, ['run', 'S', '--', 'true'])
    assert.equal(r.status, 6, r.stderr)
    assert.match(r.stderr, /stack S has no upper\/ directory.*strata check --repair/)
    r = strata(home, ['check', '--json'])
    assert.equal(r.status, 6)
    assert.ok(r.json.problems.some((p) => /stack S has no upper\//.test(p.message)), r.stdout)
    r = strata(home, [...mender.split(' '), '--json'])
    assert.equal(r.status, 0, r.stdout + r.stderr)
    if (mender !== 'gc') assert.ok(r.json.repaired.some((x) => /put back stack S's upper/.test(x)), r.stdout)
    assert.deepEqual(readdirSync(join(home, 'tmp')), [])
    changedView(home, 'repaired')
    ok(home, ['commit', 'S'])
    changedView(home, 'committed')
    assert.equal(strata(home, ['check']).status, 0)
  })
}
