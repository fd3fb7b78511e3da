// Scripts never hang: every command piped into `cat`, run with stdin closed,
// and run with stdin an open pipe that never closes, finishes by itself; no
// colour or terminal control on a pipe, nor on a terminal with NO_COLOR.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {bin, cleanHome, newHome, strata, tmp} from './helpers.js'

const LIMIT = 60000 // far above what any of these takes; hitting it means something waited
let home, src

before(() => {
  home = newHome()
  src = tmp('strata-script-src-')
  mkdirSync(join(src, 'tree', 'etc'), {recursive: true})
  writeFileSync(join(src, 'tree', 'etc', 'motd'), 'hello from a layer, long enough to be an object, not an inline file\n')
  assert.equal(strata(home, ['import', join(src, 'tree'), '--name', 'base']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'dev', 'base']).status, 0)
})
after(() => cleanHome(home))

// every command a script might call, each ending as it should (0 or its documented failure)
const commands = () => [
  [['import', join(src, 'tree'), '--name', 'again'], 0],
  [['layer', 'list'], 0],
  [['layer', 'inspect', 'base'], 0],
  [['layer', 'inspect', 'base', '--json'], 0],
  [['stack', 'list'], 0],
  [['stack', 'inspect', 'dev'], 0],
  [['stack', 'inspect', 'nosuch'], 3],
  [['stack', 'create', 'dev', 'base'], 4],
  [['layer', 'rm', 'base'], 4],
  [['completion', 'zsh'], 0],
  [['run', 'dev', '--', 'cat', 'etc/motd'], 0], // run hands stdin to its command; cat of a file doesn't read it
  [['nosuch'], 2],
  [['__complete', 'stack', 'inspect', ''], 0],
]

const env = () => ({...process.env, STRATA_HOME: home})

/** Runs argv with stdin an open pipe we never close or write to; resolves when it exits or the limit passes. */
function withOpenStdin(argv) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...argv], {env: env(), stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({timedOut: true, stdout, stderr})
    }, LIMIT)
    child.on('exit', (status) => {
      clearTimeout(timer)
      resolve({timedOut: false, status, stdout, stderr})
    })
  })
}

const ESC = /\x1b/

test('piped into cat: finishes, exit code kept, no escape sequences', () => {
  for (const [argv, exit] of commands()) {
    // pipefail: the exit code is strata's, not cat's
    const r = spawnSync('bash', ['-c', 'set -o pipefail; "$@" | cat', 'pipe', process.execPath, bin, ...argv], {env: env(), encoding: 'utf8', timeout: LIMIT})
    assert.equal(r.error, undefined, `strata ${argv.join(' ')} | cat: timed out`)
    assert.equal(r.status, exit, `strata ${argv.join(' ')} | cat: ${r.stderr}`)
    assert.doesNotMatch(r.stdout + r.stderr, ESC, `strata ${argv.join(' ')}: escape sequences on a pipe`)
  }
})

test('stdin closed: finishes, exit code kept', () => {
  for (const [argv, exit] of commands()) {
    const r = spawnSync('bash', ['-c', 'exec 0<&-; exec "$@"', 'closed', process.execPath, bin, ...argv], {env: env(), encoding: 'utf8', timeout: LIMIT})
    assert.equal(r.error, undefined, `strata ${argv.join(' ')} with stdin closed: timed out`)
    assert.equal(r.status, exit, `strata ${argv.join(' ')} with stdin closed: ${r.stderr}`)
  }
})

test('stdin an open pipe that never closes: nothing waits on it', async () => {
  const results = await Promise.all(commands().map(async ([argv, exit]) => [argv, exit, await withOpenStdin(argv)]))
  for (const [argv, exit, r] of results) {
    assert.equal(r.timedOut, false, `strata ${argv.join(' ')} waited on stdin`)
    assert.equal(r.status, exit, `strata ${argv.join(' ')}: ${r.stderr}`)
  }
})

test('on a terminal with NO_COLOR: no colour', () => {
  // script(1) gives the command a terminal for stdout and stderr
  for (const argv of [['stack', 'inspect', 'nosuch'], ['layer', 'list'], ['import', join(src, 'tree')]]) {
    const r = spawnSync('script', ['-qec', [process.execPath, bin, ...argv].join(' '), '/dev/null'], {env: {...env(), NO_COLOR: '1', TERM: 'xterm-256color'}, encoding: 'utf8', timeout: LIMIT})
    assert.equal(r.error, undefined)
    assert.doesNotMatch(r.stdout.replace(/\x1b\[K|\r/g, ''), /\x1b\[[0-9;]*m/, `strata ${argv.join(' ')}: colour with NO_COLOR`)
  }
})
