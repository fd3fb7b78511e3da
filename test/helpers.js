// Shared test helpers: run the real bin/run.js (as the unprivileged user the
// suite runs as), fresh stores, and commands inside a user namespace.
import {spawnSync} from 'node:child_process'
import assert from 'node:assert/strict'
import {closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {createRequire} from 'node:module'
import {randomBytes} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join, dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const bin = join(root, 'bin', 'run.js')

if (process.getuid() === 0) {
  throw new Error('strata tests run as an unprivileged user: use `npm test`, which provisions one when run as root')
}

const made = []
/** A fresh temporary directory, removed when the test file's process exits. */
export function tmp(prefix = 'strata-test-') {
  const d = mkdtempSync(join(process.env.STRATA_TEST_TMP ?? tmpdir(), prefix))
  made.push(d)
  return d
}
// inside the namespace: what tests made there may belong to mapped ids
process.on('exit', () => {
  if (made.length) spawnSync('unshare', ['--user', '--map-root-user', '--map-auto', '--', 'rm', '-rf', ...made], {stdio: 'ignore'})
})

/** A fresh STRATA_HOME; removed by `cleanHome` (inside the namespace: its files have mapped owners). */
export function newHome() {
  return join(tmp('strata-home-'), 'home')
}

/** Runs `strata ARGS...` and returns {status, stdout, stderr, json}. */
export function strata(home, args, opts = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    env: {...process.env, STRATA_HOME: home, NO_COLOR: '1', ...opts.env},
    cwd: opts.cwd,
    input: opts.input,
    stdio: [opts.stdin ?? (opts.input === undefined ? 'ignore' : 'pipe'), 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
    timeout: opts.timeout ?? 600000,
  })
  let json
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout.toString())
    } catch {}
  }
  return {status: r.status, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString(), stdoutBuf: r.stdout, json}
}

/** Runs argv inside `unshare --map-root-user --map-auto` (the mapping strata uses). */
export function inNs(argv, opts = {}) {
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--map-auto', '--mount', '--', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
    ...opts,
  })
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r
}

/** A fresh store and a work directory for one test; the store is removed after it (the directory at exit, with tmp's). */
export function scratch(t, prefix = 'strata-work-') {
  const home = newHome()
  t.after(() => cleanHome(home))
  return {home, work: tmp(prefix)}
}

export function cleanHome(home) {
  inNs(['rm', '-rf', dirname(home)], {allowFail: true})
}

/** Every path under dir with its type and size, read inside the namespace: what "the store is untouched" compares. */
export function listing(dir) {
  const r = inNs(['find', dir, '-printf', '%P %y %s\\n'], {allowFail: true})
  return r.stdout.toString().split('\n').filter(Boolean).sort()
}

/** Runs a bad command: it must fail with its exit code and one line on stderr naming the problem (c.says) and the fix. */
export function expectOneLineError(home, c) {
  const r = strata(home, c.args)
  assert.equal(r.status, c.exit, `${c.args.join(' ')} → ${r.status}: ${r.stderr}`)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `one line for ${c.args.join(' ')}: ${r.stderr}`)
  assert.match(lines[0], c.says)
  assert.match(lines[0], / — /, 'the line names the fix')
  assert.equal(r.stdout, '')
  return r
}

/** Processes whose mount namespace is mntns (`mnt:[…]`): what a session leaves behind, if anything. */
export function inMntNs(mntns) {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/mnt`) === mntns
    } catch {
      return false
    }
  })
}

/** A real terminal (a private tmux server) running command: type with keys(), read with screen(), await a pattern with waitFor(), Ctrl-C with interrupt(). */
export function terminal(t, command) {
  const sock = `strata-${randomBytes(4).toString('hex')}`
  const tmux = (...a) => spawnSync('tmux', ['-L', sock, ...a], {encoding: 'utf8'})
  t.after(() => tmux('kill-server'))
  const r = tmux('new-session', '-d', '-x', '150', '-y', '40', command)
  assert.equal(r.status, 0, r.stderr)
  const screen = () => tmux('capture-pane', '-p', '-S', '-100').stdout
  const waitFor = async (re) => {
    for (let i = 0; i < 300; i++) {
      const s = screen()
      if (re.test(s)) return s
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.fail(`the terminal never showed ${re}:\n${screen()}`)
  }
  const keys = (...k) => tmux('send-keys', ...k)
  // Ctrl-C, then wait for the shell's next prompt (tmux trims its trailing blanks): keys typed before it are echoed beside it, not on a line of their own
  const interrupt = async (prompt) => {
    keys('C-c')
    await waitFor(new RegExp(`\\^C\\s*\\n${prompt.trimEnd().replace(/[$^.*+?()[\]{}|\\]/g, '\\$&')}\\s*$`, 'm'))
  }
  return {waitFor, keys, screen, interrupt}
}

/** Resolves once a process of ours runs exactly argv (read from /proc): a command typed into a terminal has started. */
export async function waitForProcess(argv) {
  const want = argv.join('\0') + '\0'
  const running = () =>
    readdirSync('/proc').some((p) => {
      try {
        return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8') === want
      } catch {
        return false // it ended meanwhile
      }
    })
  for (let i = 0; i < 300; i++) {
    if (running()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.fail(`no process ran ${argv.join(' ')}`)
}

// the provisioned filesystems are the machine's: a test run of another checkout
// must not fill them or remove a store meanwhile, so each run holds the one it
// uses in turn (flock on the mount's root, the addon's, blocking)
export function holdFilesystem(t, mount) {
  const sys = createRequire(import.meta.url)('../scripts/native.cjs').load('strata_sys')
  const fd = openSync(mount, 'r')
  sys.flock(fd, true, true)
  t.after(() => closeSync(fd))
}

/** After a failed command: nothing left under tmp/, and `strata check` finds the store valid, with no problem and no leftover. */
export function expectStoreClean(home, what) {
  const left = existsSync(join(home, 'tmp')) ? readdirSync(join(home, 'tmp')) : []
  assert.deepEqual(left, [], `${what}: tmp/ is empty`)
  const c = strata(home, ['check', '--json'])
  assert.equal(c.status, 0, `${what}: check: ${c.stdout}${c.stderr}`)
  assert.deepEqual(c.json.problems, [], what)
  assert.deepEqual(c.json.leftovers, [], what)
}
