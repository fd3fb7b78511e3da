// Commands that meet on one store give way cleanly (docs/design.md, Locking):
// each race of issue 17 run for real, many rounds, the second command started
// 0-300 ms after the first and either one first, on a layer of a few thousand
// entries. Only the documented exits are allowed (0, 3 not found, 4 busy;
// never 1), never both of two exclusive outcomes, an export that succeeds
// holds the whole layer, a commit that succeeds reads back, and `check` is
// clean after every round. Rounds: STRATA_RACE_ROUNDS (default 8).
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {bin, cleanHome, inNs, newHome, root, strata, tmp} from './helpers.js'

const ROUNDS = Number(process.env.STRATA_RACE_ROUNDS ?? 8)
const ALLOWED = [0, 3, 4]
let home, src, work, want

/** A tree of about 3000 entries: 60 directories of 50 files, a third of them large enough to be stubs. */
function makeTree(dir, seed) {
  for (let d = 0; d < 60; d++) {
    const sub = join(dir, `d${String(d).padStart(2, '0')}`, 'deeper')
    mkdirSync(sub, {recursive: true})
    for (let f = 0; f < 50; f++) {
      const body = `${seed} ${d}/${f}\n`
      writeFileSync(join(sub, `f${f}`), f % 3 === 0 ? body.repeat(12) : body)
    }
  }
}

/** Starts `strata ARGS` now; resolves to {args, status, signal, stdout, stderr}. */
function start(args) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], {env: {...process.env, STRATA_HOME: home, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d) => (stdout += d))
    c.stderr.on('data', (d) => (stderr += d))
    c.on('exit', (status, signal) => resolve({args, status, signal, stdout, stderr}))
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** a and b at once: one of them first (at random), the other 0-300 ms later. */
async function race(a, b) {
  const offset = Math.floor(Math.random() * 300)
  const aFirst = Math.random() < 0.5
  const [ra, rb] = await Promise.all([
    (async () => (aFirst ? start(a) : sleep(offset).then(() => start(a))))(),
    (async () => (aFirst ? sleep(offset).then(() => start(b)) : start(b)))(),
  ])
  return {a: ra, b: rb, how: `${aFirst ? a[0] : b[0]} first, the other ${offset} ms later`}
}

function allowed(r, how) {
  assert.ok(ALLOWED.includes(r.status), `strata ${r.args.join(' ')} (${how}) exited ${r.status}: ${r.stderr}`)
  if (r.status !== 0) {
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `one line: ${r.stderr}`)
    assert.doesNotMatch(r.stderr, /bug in strata/)
  }
}

function checkClean(how) {
  const r = strata(home, ['check', '--quick', '--json'])
  assert.equal(r.status, 0, `check after ${how}: ${r.stdout}${r.stderr}`)
  assert.deepEqual(r.json.problems, [], how)
}

/** gc over and over until stopped: every exit must be 0 or 4 (busy). */
function gcLoop() {
  let stop = false
  const seen = []
  const done = (async () => {
    // every other round waits for the store (--wait): refusing alone, a loop beside back-to-back
    // readers may never find a gap, and then nothing would run beside them
    for (let i = 0; !stop; i++) {
      seen.push(await start(i % 2 ? ['gc', '--wait', '--json'] : ['gc', '--json']))
      await sleep(150) // a loop, not a spin: the machine has other work
    }
  })()
  return {
    async end() {
      stop = true
      await done
      for (const r of seen) assert.ok([0, 4].includes(r.status), `gc in the loop exited ${r.status}: ${r.stderr}${r.stdout}`)
      return seen
    },
  }
}

let bigGone = false
/** Layer `big` is there: imported again when a round removed it. */
function ensureBig() {
  if (!bigGone) return
  const r = strata(home, ['import', src, '--name', 'big'])
  assert.equal(r.status, 0, r.stderr)
  bigGone = false
}

const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex')

before(() => {
  home = newHome()
  work = tmp('strata-races-')
  src = join(work, 'src')
  makeTree(src, 'big')
  bigGone = true
  ensureBig()
  // what a whole export of the layer is: exports are deterministic
  const r = strata(home, ['layer', 'export', 'big', '-o', join(work, 'want.tar')])
  assert.equal(r.status, 0, r.stderr)
  want = sha(join(work, 'want.tar'))
})
after(() => cleanHome(home))

test('stack create and layer rm, a gc loop going on: never both, never 1, check clean', async () => {
  const loop = gcLoop()
  const tally = {create: 0, rm: 0}
  try {
    for (let i = 0; i < ROUNDS; i++) {
      ensureBig()
      const {a: create, b: rm, how} = await race(['stack', 'create', 'S', 'big'], ['layer', 'rm', 'big'])
      allowed(create, how)
      allowed(rm, how)
      assert.ok(!(create.status === 0 && rm.status === 0), `both stack create and layer rm succeeded (${how})`)
      if (create.status === 0) tally.create++
      if (rm.status === 0) {
        bigGone = true
        tally.rm++
        assert.equal(create.status, 3, `a stack create that met a removed layer: not found (${how}): ${create.stderr}`)
        assert.equal(strata(home, ['stack', 'inspect', 'S']).status, 3, 'no stack on a removed layer')
      }
      checkClean(how)
      if (create.status === 0) assert.equal(strata(home, ['stack', 'rm', 'S']).status, 0)
    }
  } finally {
    await loop.end()
  }
  assert.ok(tally.create + tally.rm >= ROUNDS - 1, `most rounds have a winner: ${JSON.stringify(tally)}`)
})

test('gc and layer rm: never 1, check clean', async () => {
  for (let i = 0; i < ROUNDS; i++) {
    ensureBig()
    const {a: gc, b: rm, how} = await race(['gc'], ['layer', 'rm', 'big'])
    allowed(gc, how)
    allowed(rm, how)
    bigGone = rm.status === 0
    assert.notEqual(gc.status, 3, 'gc finds nothing missing')
    checkClean(how)
  }
})

test('layer export and layer rm: an export that succeeds holds the whole layer', async () => {
  let whole = 0
  for (let i = 0; i < ROUNDS; i++) {
    ensureBig()
    const out = join(work, `out-${i}.tar`)
    const {a: exp, b: rm, how} = await race(['layer', 'export', 'big', '-o', out], ['layer', 'rm', 'big'])
    allowed(exp, how)
    allowed(rm, how)
    bigGone = rm.status === 0
    if (exp.status === 0) {
      whole++
      assert.equal(sha(out), want, `the export is the whole layer (${how})`)
    } else {
      assert.equal(exp.status, 3, `an export that lost: not found (${how}): ${exp.stderr}`)
      assert.equal(rm.status, 0)
      assert.ok(!existsSync(out), 'a failed export leaves no file')
    }
    if (rm.status === 4) assert.match(rm.stderr, /layer [0-9a-f]{12} is in use by pid \d+ \(strata layer export big/, 'the refusal names the reader')
    rmSync(out, {force: true})
    checkClean(how)
  }
  assert.ok(whole > 0 || ROUNDS < 4, 'some exports won')
})

test('commit and stack rm: a commit that succeeds reads back', async () => {
  ensureBig()
  let committed = 0
  let stackThere = false
  for (let i = 0; i < ROUNDS; i++) {
    if (!stackThere) assert.equal(strata(home, ['stack', 'create', 'S', 'big']).status, 0)
    // the upper holds a few thousand changes, new each round: what a build in the stack would leave
    const changes = join(work, `changes-${i}`)
    makeTree(changes, `round ${i}`)
    inNs(['cp', '-a', `${changes}/.`, join(home, 'stacks', 'S', 'upper')])
    const name = `c${i}`
    const {a: commit, b: rm, how} = await race(['commit', 'S', '--name', name, '--json'], ['stack', 'rm', 'S'])
    allowed(commit, how)
    allowed(rm, how)
    stackThere = rm.status !== 0
    if (commit.status === 0) {
      committed++
      const layer = JSON.parse(commit.stdout).layer
      assert.ok(layer, `the commit made a layer (${how}): ${commit.stdout}`)
      assert.deepEqual(layer.names, [name])
      // the committed layer reads back: in the stack, or (removed after) in a new stack of it
      if (!stackThere) assert.equal(strata(home, ['stack', 'create', 'S', name]).status, 0)
      stackThere = true
      const r = strata(home, ['run', 'S', '--', 'cat', 'd07/deeper/f3'])
      assert.equal(r.stdout, `round ${i} 7/3\n`.repeat(12), `${how}: ${r.stderr}`)
    } else if (commit.status === 3) assert.equal(rm.status, 0, 'commit found no stack: stack rm took it first')
    if (rm.status === 4) assert.match(rm.stderr, /stack 'S' is in use .*pid \d+ \(strata commit S/, 'the refusal names the commit')
    checkClean(how)
  }
  assert.ok(committed > 0 || ROUNDS < 4, 'some commits won')
})

test('check while a gc loop runs: always clean, never 1', async () => {
  ensureBig()
  // something for gc to collect each time: a layer imported and removed
  const other = join(work, 'other')
  makeTree(other, 'other')
  const loop = gcLoop()
  try {
    for (let i = 0; i < ROUNDS; i++) {
      assert.equal(strata(home, ['import', other, '--name', 'other']).status, 0)
      const rm = start(['layer', 'rm', 'other'])
      const r = await start(['check', '--json'])
      assert.equal(r.status, 0, `check during gc: ${r.stdout}${r.stderr}`)
      assert.deepEqual(JSON.parse(r.stdout).problems, [])
      const removed = await rm
      allowed(removed, 'check during gc')
      if (removed.status !== 0) assert.equal(strata(home, ['layer', 'rm', 'other', '--wait']).status, 0)
    }
  } finally {
    const seen = await loop.end()
    assert.ok(seen.some((r) => r.status === 0), 'the gc loop got to run')
  }
})

test('staging is a leftover by its lock, not its pid: a writer that is pid 1 of its own pid namespace is kept while it works, collected once killed', async () => {
  const tmpDir = join(home, 'tmp')
  // what the old rule kept forever: a staging entry named after pid 1 (a sandbox's), its writer long gone
  inNs(['mkdir', '-p', join(tmpDir, 'compose-1-0123456789ab')])
  const script = `
    const {writeFileSync} = await import('node:fs')
    const {stagingDir} = await import(${JSON.stringify(join(root, 'dist', 'src', 'store', 'staging.js'))})
    const d = stagingDir(${JSON.stringify(tmpDir)}, 'import')
    writeFileSync(d + '/work', 'in progress')
    console.log(process.pid + ' ' + d)
    setInterval(() => {}, 1 << 30)`
  const writer = spawn('unshare', ['--user', '--map-root-user', '--map-auto', '--mount', '--pid', '--fork', '--kill-child', '--', process.execPath, '--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'inherit']})
  const line = await new Promise((resolve) => {
    let out = ''
    writer.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.trim())
    })
  })
  const [pid, entry] = line.split(' ')
  assert.equal(pid, '1', 'the writer is pid 1 of its namespace')
  assert.ok(entry.startsWith(join(tmpDir, 'import-')), entry)

  let r = strata(home, ['check', '--quick', '--json'])
  assert.equal(r.status, 0, r.stdout)
  assert.deepEqual(r.json.leftovers, [join(tmpDir, 'compose-1-0123456789ab')], 'the working writer\'s entry is no leftover')
  r = strata(home, ['gc', '--json'])
  assert.equal(r.status, 0, r.stdout)
  assert.equal(r.json.leftovers.removed, 1, 'the dead pid-1 entry is collected')
  assert.ok(existsSync(join(entry, 'work')), 'the working writer\'s staging stays')
  assert.ok(!existsSync(join(tmpDir, 'compose-1-0123456789ab')))

  writer.kill('SIGKILL') // unshare --kill-child: its pid 1 dies with it, holding the staging
  await new Promise((res) => writer.on('exit', res))
  for (let i = 0; i < 100 && strata(home, ['gc', '--dry-run', '--json']).json.leftovers.removed === 0; i++) await sleep(50) // the kernel ends the namespace's pid 1
  r = strata(home, ['gc', '--json'])
  assert.equal(r.status, 0, r.stdout)
  assert.equal(r.json.leftovers.removed, 1, 'collected once its writer is gone')
  assert.ok(!existsSync(entry))
  assert.equal(strata(home, ['check', '--json']).json.leftovers.length, 0)
})
