// Sessions: `mount` keeps a stack mounted in a detached holder, `exec`/`run`
// join it, `path` reaches it from the host, `umount` ends every process of
// it (checked in /proc), and a dead holder is reported stale and cleaned.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {strata, newHome, cleanHome, tmp, expectOneLineError, inMntNs} from './helpers.js'
import {makeRootfs} from './fixtures/rootfs.js'

/** A store with a busybox root imported as layer `base` and a stack of it. */
function setup(t, stack = 'box') {
  const home = newHome()
  const src = makeRootfs(join(tmp('strata-root-'), 'root'))
  const holders = new Set()
  t.after(() => {
    // holders must never leak: umount, and kill whatever a failed test left
    strata(home, ['umount', stack])
    for (const pid of holders) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    cleanHome(home)
  })
  const imp = strata(home, ['import', src, '--name', 'base'])
  assert.equal(imp.status, 0, imp.stderr)
  const cr = strata(home, ['stack', 'create', stack, 'base'])
  assert.equal(cr.status, 0, cr.stderr)
  return {home, src, holders}
}

function mount(home, stack, holders) {
  const r = strata(home, ['mount', stack, '--json'])
  assert.equal(r.status, 0, r.stderr)
  holders.add(r.json.pid)
  return r.json
}

/** Whether a process lives (a zombie waiting for init to reap it does not). */
function alive(pid) {
  try {
    return !/^[ZX]$/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0])
  } catch {
    return false
  }
}

/** Pids of processes in a mount namespace, read from /proc. */

test('mount, exec, path, ps and umount: one session, shared by every joiner', async (t) => {
  const {home, holders} = setup(t)
  const s = mount(home, 'box', holders)
  assert.match(s.mntns, /^mnt:\[\d+\]$/)
  assert.ok(alive(s.pid), 'the holder runs')
  const sid = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[3]
  assert.equal(sid(s.pid), String(s.pid), 'the holder leads its own session (setsid)')
  assert.equal(readlinkSync(`/proc/${s.pid}/fd/0`), '/dev/null', 'and has no terminal')

  const ps = strata(home, ['ps', '--json'])
  assert.equal(ps.status, 0, ps.stderr)
  assert.deepEqual(ps.json.sessions.map((x) => [x.stack, x.pid, x.state, x.backend]), [['box', s.pid, 'running', 'kernel']])
  assert.match(strata(home, ['ps']).stdout, new RegExp(`^box\\s+${s.pid}\\s+kernel\\s+\\S+\\s+running`, 'm'))

  // one exec writes, another reads: the same mount
  const w = strata(home, ['exec', 'box', '--', 'sh', '-c', 'echo from-exec > note; pwd'])
  assert.equal(w.status, 0, w.stderr)
  assert.equal(w.stdout.trim(), s.mountpoint, 'exec starts in the merged view')
  const r = strata(home, ['exec', 'box', '--', 'cat', 'note', 'etc/os-release'])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^from-exec\nNAME="strata-busybox"/)

  // exit status passes through
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'exit 7']).status, 7)
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'kill -TERM $$']).status, 128 + 15)

  // the host writes through `path`; the session sees it
  const p = strata(home, ['path', 'box'])
  assert.equal(p.status, 0, p.stderr)
  const path = p.stdout.trim()
  assert.equal(path, `/proc/${s.pid}/root${s.mountpoint}`)
  assert.equal(readFileSync(join(path, 'note'), 'utf8'), 'from-exec\n')
  writeFileSync(join(path, 'from-host'), 'written by a host process\n')
  assert.equal(strata(home, ['exec', 'box', '--', 'cat', 'from-host']).stdout, 'written by a host process\n')
  assert.equal(strata(home, ['path', 'box', '--json']).json.path, path)

  // `run` joins the mounted session rather than mounting the upper twice
  const run = strata(home, ['run', 'box', '--', 'sh', '-c', 'cat from-host; readlink /proc/self/ns/mnt'])
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout, `written by a host process\n${s.mntns}\n`)

  // a second mount says where the first is; rm refuses without --force
  const again = strata(home, ['mount', 'box'])
  assert.equal(again.status, 4)
  assert.match(again.stderr, new RegExp(`stack 'box' is already mounted \\(session pid ${s.pid}.*${path.replace(/[/.]/g, '\\$&')}`))
  assert.equal(again.stderr.trim().split('\n').length, 1)
  const rm = strata(home, ['stack', 'rm', 'box'])
  assert.equal(rm.status, 4)
  assert.match(rm.stderr, /stack 'box' is mounted .* — .*--force/)

  // processes left behind in the session (background sleeps) end with it
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'sleep 300 >/dev/null 2>&1 & sleep 300 >/dev/null 2>&1 & true']).status, 0)
  const before = inMntNs(s.mntns)
  assert.ok(before.length >= 3, `holder and two sleeps: ${before}`)
  const um = strata(home, ['umount', 'box', '--json'])
  assert.equal(um.status, 0, um.stderr)
  assert.equal(um.json.stale, false)
  assert.ok(um.json.stopped >= 3)
  // by pid: once the namespace is gone its inode number may be given to another one
  assert.deepEqual(before.filter((p) => alive(Number(p))), [], 'nothing is left of the session')
  assert.equal(alive(s.pid), false, 'the holder is gone')
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions, [])
  assert.equal(strata(home, ['exec', 'box', '--', 'true']).status, 3)

  // writes persist in the upper across sessions
  const ran = strata(home, ['run', 'box', '--', 'cat', 'note', 'from-host'])
  assert.equal(ran.stdout, 'from-exec\nwritten by a host process\n')
  const s2 = mount(home, 'box', holders)
  assert.notEqual(s2.pid, s.pid)
  assert.equal(strata(home, ['exec', 'box', '--', 'cat', 'note']).stdout, 'from-exec\n')
  const forced = strata(home, ['stack', 'rm', 'box', '--force'])
  assert.equal(forced.status, 0, forced.stderr)
  assert.equal(alive(s2.pid), false, 'rm --force stopped the session')
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions, [])
})

test('exec -e/-w into a plain session: the environment and directory the command sees; --user and bad values refused by their exit codes', async (t) => {
  const {home, holders} = setup(t)
  const s = mount(home, 'box', holders)
  // -e NAME=VALUE sets, -e NAME passes the host's value on, over the host's environment
  const e = strata(home, ['exec', 'box', '-e', 'A=1', '--env', 'B=two words', '-e', 'FROMHOST', '-w', '/etc', '--', 'sh', '-c', 'echo "$A|$B|$FROMHOST|$KEPT"; pwd; cat os-release | head -1'], {env: {FROMHOST: 'host value', KEPT: 'kept'}})
  assert.equal(e.status, 0, e.stderr)
  assert.equal(e.stdout, `1|two words|host value|kept\n${s.mountpoint}/etc\nNAME="strata-busybox"\n`)
  // flags before the stack; a relative -w is from the stack's root; a directory made by an exec is found by the next
  assert.equal(strata(home, ['exec', '-w', 'var/data', 'box', '--', 'pwd']).stdout, `${s.mountpoint}/var/data\n`)
  assert.equal(strata(home, ['exec', 'box', '--', 'mkdir', '-p', 'made/here']).status, 0)
  assert.equal(strata(home, ['exec', '--workdir=/made/here', 'box', '--', 'pwd']).stdout, `${s.mountpoint}/made/here\n`)
  // a command that isn't there: strata's one wording, as for an unmounted run (not nsenter's); relative names from the workdir
  for (const args of [['exec', 'box', '--', 'nosuchcmd'], ['run', 'box', '--', 'nosuchcmd'], ['exec', 'box', '-w', '/etc', '--', 'nosuchcmd'], ['exec', 'box', '--', './bin/nosuch']]) {
    const r = strata(home, args, {env: {PATH: '/usr/bin:/bin'}})
    assert.equal(r.status, 127, args.join(' '))
    assert.equal(r.stderr, `strata: ${args.at(-1)}: command not found\n`, args.join(' '))
  }
  assert.equal(strata(home, ['exec', 'box', '-w', '/bin', '--', './echo', 'found']).stdout, 'found\n')
  // the same command without flags (the fast path) is unchanged: the host environment, the merged view
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'echo "$A|$KEPT"; pwd'], {env: {KEPT: 'kept'}}).stdout, `|kept\n${s.mountpoint}\n`)
  for (const c of [
    {args: ['exec', 'box', '-w', '/nosuch', '--', 'true'], exit: 3, says: /^strata: no directory \/nosuch in stack 'box' \(No such file or directory\) — give -w\/--workdir a directory that exists in the stack$/},
    {args: ['exec', 'box', '-w', '/etc/os-release', '--', 'true'], exit: 3, says: /no directory \/etc\/os-release in stack 'box' \(Not a directory\)/},
    {args: ['exec', 'box', '-w', '../..', '--', 'true'], exit: 2, says: /--workdir '\.\.\/\.\.' is outside the stack/},
    {args: ['exec', 'box', '-e', 'not-a-name=1', '--', 'true'], exit: 2, says: /invalid --env 'not-a-name=1' — give NAME=VALUE/},
    {args: ['exec', 'box', '--user', '1000', '--', 'id'], exit: 2, says: /^strata: --user only applies to a root session: 'box' is mounted without --root, where every command runs as you .* — leave out --user, or remount it as a sandbox: `strata umount box && strata mount --root box`$/},
    {args: ['exec', 'box', '--user', 'root', '--', 'id'], exit: 2, says: /invalid --user 'root' — give UID or UID:GID as numbers/},
  ])
    expectOneLineError(home, c)
})

test('a fuse-overlayfs session has no host path: mount, ps and path all say so, exec reaches it', async (t) => {
  const {home, holders} = setup(t, 'fbox')
  t.after(() => strata(home, ['umount', 'fbox']))
  assert.equal(strata(home, ['stack', 'rm', 'fbox']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'fbox', 'base', '--backend', 'fuse']).status, 0)
  const m = strata(home, ['mount', 'fbox'])
  assert.equal(m.status, 0, m.stderr)
  assert.match(m.stdout, /^mounted fbox \(session pid (\d+)\); no host path under fuse-overlayfs: use `strata exec fbox -- CMD`\n$/)
  const pid = Number(/session pid (\d+)/.exec(m.stdout)[1])
  holders.add(pid)
  const ps = strata(home, ['ps', '--json'])
  assert.deepEqual(ps.json.sessions.map((x) => [x.stack, x.backend, x.path]), [['fbox', 'fuse', null]])
  const again = strata(home, ['mount', 'fbox', '--json'])
  assert.equal(again.status, 4)
  assert.doesNotMatch(again.json.error.message, /\/proc\//, 'no host path in the refusal either')
  expectOneLineError(home, {args: ['path', 'fbox'], exit: 5, says: /^strata: stack 'fbox' is mounted with fuse-overlayfs, whose files no process outside the session can open — use `strata exec fbox -- CMD`/})
  assert.equal(strata(home, ['path', 'fbox', '--json']).json.error.exit, 5)
  // what the refusal says is so: the path it would have given is closed to the host
  assert.throws(() => readdirSync(`/proc/${pid}/root${ps.json.sessions[0].mountpoint}`), /EACCES/)
  const e = strata(home, ['exec', 'fbox', '-w', '/etc', '-e', 'X=y', '--', 'sh', '-c', 'echo $X; cat os-release | head -1'])
  assert.equal(e.stdout, 'y\nNAME="strata-busybox"\n', e.stderr)
  expectOneLineError(home, {args: ['exec', 'fbox', '-w', '/nosuch', '--', 'true'], exit: 3, says: /no directory \/nosuch in stack 'fbox'/})
  // a name on PATH is looked up on the host's directories; one in the view (closed to the host) is left to the command
  assert.equal(strata(home, ['exec', 'fbox', '--', 'nosuchcmd'], {env: {PATH: '/usr/bin:/bin'}}).stderr, 'strata: nosuchcmd: command not found\n')
  assert.equal(strata(home, ['exec', 'fbox', '--', './bin/echo', 'in the view']).stdout, 'in the view\n')
  assert.equal(strata(home, ['exec', 'fbox', '--', './bin/nosuch']).status, 127)
  assert.equal(strata(home, ['umount', 'fbox']).status, 0)
  // the kernel backend's session has one, everywhere
  assert.equal(strata(home, ['stack', 'create', 'kbox', 'base', '--backend', 'kernel']).status, 0)
  t.after(() => strata(home, ['umount', 'kbox']))
  const k = mount(home, 'kbox', holders)
  assert.equal(k.path, `/proc/${k.pid}/root${k.mountpoint}`)
  assert.equal(strata(home, ['ps', '--json']).json.sessions[0].path, k.path)
  assert.ok(readdirSync(k.path).includes('etc'))
})

test('a killed holder is reported stale and cleaned by the next mount', async (t) => {
  const {home, holders} = setup(t)
  const s = mount(home, 'box', holders)
  // something joined the session and outlives the holder
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'echo kept > kept; sleep 300 >/dev/null 2>&1 & true']).status, 0)
  process.kill(s.pid, 'SIGKILL')
  for (let i = 0; i < 100 && alive(s.pid); i++) await new Promise((r) => setTimeout(r, 20))
  const left = inMntNs(s.mntns)
  assert.equal(left.length, 1, 'the sleep still holds the namespace')

  const ps = strata(home, ['ps', '--json'])
  assert.deepEqual(ps.json.sessions.map((x) => [x.stack, x.pid, x.state]), [['box', s.pid, 'stale']])
  const human = strata(home, ['ps'])
  assert.match(human.stdout, /^box\s+\d+\s+kernel\s+\S+\s+stale/m)
  assert.match(human.stderr, /the session of 'box' is stale .* — .*strata umount box/)

  const s2 = mount(home, 'box', holders)
  assert.notEqual(s2.pid, s.pid)
  assert.deepEqual(left.filter((p) => alive(Number(p))), [], "the stale session's leftovers ended")
  assert.equal(strata(home, ['exec', 'box', '--', 'cat', 'kept']).stdout, 'kept\n')
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions.map((x) => [x.pid, x.state]), [[s2.pid, 'running']])
})

test('a holder whose pid was reused is stale', async (t) => {
  const {home, holders} = setup(t)
  const s = mount(home, 'box', holders)
  // the state file names the holder's start time: a different one means another process
  const {runtimeDir} = await import('../dist/src/store/home.js')
  const {Sessions} = await import('../dist/src/runtime/session.js')
  const {Home} = await import('../dist/src/store/home.js')
  const sessions = new Sessions(new Home(home))
  assert.ok(sessions.dir.startsWith(runtimeDir()))
  const file = sessions.file('box')
  const state = JSON.parse(readFileSync(file, 'utf8'))
  writeFileSync(file, JSON.stringify({...state, starttime: String(Number(state.starttime) + 1)}))
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions.map((x) => x.state), ['stale'])
  writeFileSync(file, JSON.stringify(state))
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions.map((x) => x.state), ['running'])
  assert.equal(strata(home, ['umount', 'box']).status, 0)
  assert.equal(alive(s.pid), false)
  assert.equal(existsSync(sessions.dir), false, "the store's last session leaves nothing in the runtime directory")
})

test('bad input to session commands: one line, its exit code', async (t) => {
  const {home, holders} = setup(t)
  const cases = [
    {args: ['mount', 'nosuch'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['exec', 'nosuch', '--', 'true'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['exec', 'box', '--', 'true'], exit: 3, says: /stack 'box' is not mounted — .*strata mount box/},
    {args: ['path', 'box'], exit: 3, says: /stack 'box' is not mounted/},
    {args: ['umount', 'box'], exit: 3, says: /stack 'box' is not mounted/},
    {args: ['shell', 'nosuch'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['exec', 'box'], exit: 2, says: /no command to run — /},
    {args: ['mount', 'box', '--map', 'bogus'], exit: 2, says: /bogus/},
  ]
  for (const c of cases) {
    expectOneLineError(home, c)
  }
  mount(home, 'box', holders)
  const second = strata(home, ['mount', 'box', '--json'])
  assert.equal(second.status, 4)
  assert.equal(second.json.error.code, 'conflict')
  // a file of another owner: one id can't keep it, so the store can't switch to 'single'
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'touch owned && chown 3:3 owned']).status, 0)
  const single = strata(home, ['mount', 'box', '--map', 'single'])
  assert.equal(single.status, 2, 'the store records its mapping: a different one is refused')
  assert.match(single.stderr, /this store uses the 'auto' id mapping and holds files of other owners \(.*owned\), which one id can't keep/)
})

test('a relative STRATA_HOME is one store for run, mount, exec and umount, whatever their working directories', async (t) => {
  const home = newHome()
  t.after(() => {
    strata(home, ['umount', 'box'])
    cleanHome(home)
  })
  const src = tmp('strata-src-')
  writeFileSync(join(src, 'file'), 'through a relative home\n')
  const rel = {env: {STRATA_HOME: basename(home)}, cwd: dirname(home)}
  assert.equal(strata(home, ['import', src, '--name', 'l'], rel).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'box', 'l'], rel).status, 0)
  const ran = strata(home, ['run', 'box', '--', 'cat', 'file'], rel)
  assert.equal(ran.stdout, 'through a relative home\n', ran.stderr)
  const m = strata(home, ['mount', 'box'], rel)
  assert.equal(m.status, 0, m.stderr)
  assert.equal(strata(home, ['exec', 'box', '--', 'cat', 'file'], rel).stdout, 'through a relative home\n')
  // the same store as its absolute path names it
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions.map((x) => x.stack), ['box'])
  assert.equal(strata(home, ['umount', 'box'], rel).status, 0)
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions, [])
})
