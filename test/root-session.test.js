// Root sessions (`mount --root`): a long-lived sandbox whose holder is pid 1 of
// its pid namespace; `exec` and `shell` join it chrooted, with its environment,
// hostname, workdir, /tmp and volumes; `path` reaches it from the host;
// `umount` (or the holder's death) leaves nothing behind, checked in /proc.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {strata, newHome, cleanHome, tmp, bin, expectOneLineError, terminal, inMntNs, waitForProcess} from './helpers.js'
import {makeRootfs} from './fixtures/rootfs.js'

function setup(t) {
  const home = newHome()
  const src = makeRootfs(join(tmp('strata-root-'), 'root'))
  const holders = new Set()
  t.after(() => {
    strata(home, ['umount', 'box']) // holders must never leak
    for (const pid of holders) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    cleanHome(home)
  })
  assert.equal(strata(home, ['import', src, '--name', 'base']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'box', 'base']).status, 0)
  return {home, holders}
}

function mountRoot(home, holders, args = []) {
  const r = strata(home, ['mount', '--root', 'box', ...args, '--json'])
  assert.equal(r.status, 0, r.stderr)
  holders.add(r.json.pid)
  return r.json
}

const exec = (home, cmd) => strata(home, ['exec', 'box', '--', ...cmd])
const sh = (home, script) => exec(home, ['sh', '-c', script])

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return {comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), state: s.split(') ')[1][0], ppid: Number(s.split(') ')[1].split(' ')[1])}
  } catch {
    return null
  }
}

/** Whether a process lives (a zombie waiting for its parent to reap it does not). */
const alive = (pid) => {
  const s = stat(pid)
  return s !== null && !/^[ZX]$/.test(s.state)
}

/** Pids of processes in a mount namespace, read from /proc. */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

test('mount --root: exec and path join one long-lived sandbox; umount ends it all', async (t) => {
  const {home, holders} = setup(t)
  const vol = tmp('strata-vol-')
  writeFileSync(join(vol, 'in'), 'from the host\n')
  const s = mountRoot(home, holders, ['--env', 'GREETING=hi there', '--hostname', 'inner', '--workdir', '/root', '--volume', `${vol}:/srv/data`])
  assert.equal(s.root, true)
  assert.deepEqual(
    {...s.sandbox, env: undefined, seccomp: undefined},
    {env: undefined, seccomp: undefined, caps: '0x800405fb', workdir: '/root', hostname: 'inner', net: 'host', volumes: [{source: vol, target: '/srv/data', readOnly: false}]},
  )
  assert.equal(s.sandbox.env.GREETING, 'hi there')
  assert.ok(alive(s.pid), 'the holder runs')
  assert.equal(readlinkSync(`/proc/${s.pid}/fd/0`), '/dev/null', 'with no terminal')

  const ps = strata(home, ['ps', '--json'])
  assert.deepEqual(ps.json.sessions.map((x) => [x.stack, x.pid, x.state, x.root]), [['box', s.pid, 'running', true]])
  assert.match(strata(home, ['ps']).stdout, new RegExp(`^box\\s+${s.pid}\\s+kernel\\s+\\S+\\s+running\\s+\\S+\\s+root$`, 'm'))

  // pid 1 is the holder (same start time, same mount namespace); /proc shows only the sandbox
  const r = sh(home, 'cut -d" " -f22 /proc/1/stat; readlink /proc/1/ns/mnt || echo denied; echo pids: $(ls /proc | grep -E "^[0-9]+$"); hostname; echo "$GREETING"; pwd; env | sort | cut -d= -f1 | tr "\\n" " "')
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.split('\n')
  assert.equal(lines[0], s.starttime, 'pid 1 started when the holder did')
  assert.equal(lines[1], 'denied', "the holder's namespaces are out of reach from the command's nested user namespace")
  const pids = lines[2].split(' ').slice(1).map(Number)
  assert.ok(pids.includes(1) && pids.length <= 6 && !pids.includes(s.pid), `only the sandbox's processes: ${pids}`)
  assert.equal(lines[3], 'inner', "the session's hostname")
  assert.equal(lines[4], 'hi there', "the session's environment")
  assert.equal(lines[5], '/root', "the session's workdir")
  const names = ['GREETING', 'HOME', 'HOSTNAME', 'LOGNAME', 'PATH', 'PWD', 'SHLVL', ...(process.env.TERM ? ['TERM'] : []), 'USER', 'container']
  assert.equal(lines[6].trim(), names.join(' '), 'the host environment stays outside (but for TERM: the terminal is the joiner\'s)')
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'echo $TERM'], {env: {TERM: 'vt100'}}).stdout, 'vt100\n')
  assert.match(exec(home, ['cat', '/etc/os-release']).stdout, /^NAME="strata-busybox"/, "the stack's own os-release")
  // the full command (no `--`, so not the fast path) joins the same way
  assert.equal(strata(home, ['exec', 'box', 'hostname']).stdout, 'inner\n')
  const nsr = strata(home, ['exec', 'box', 'readlink', '/proc/1/ns/mnt'])
  assert.equal(nsr.stdout, '', 'no way into the holder through /proc/1/ns')
  assert.notEqual(nsr.status, 0)

  // two execs share the session's /tmp and the stack; the volume is the host's directory
  const note = `/tmp/strata-note-${process.pid}` // a name nothing on the host has
  assert.equal(sh(home, `echo shared > ${note}; echo kept > /root/kept; cat /srv/data/in; echo back > /srv/data/out`).stdout, 'from the host\n')
  assert.equal(sh(home, `cat ${note} kept`).stdout, 'shared\nkept\n')
  assert.equal(readFileSync(join(vol, 'out'), 'utf8'), 'back\n')
  assert.equal(existsSync(note), false, "the session's /tmp is its own")

  // exit status and signals come back
  assert.equal(sh(home, 'exit 9').status, 9)
  assert.equal(sh(home, 'kill -TERM $$').status, 143)
  assert.equal(exec(home, ['nosuchcommand']).status, 127)

  // a host process writes through `path`; the sandbox sees it, and the other way round
  const path = strata(home, ['path', 'box']).stdout.trim()
  assert.equal(path, `/proc/${s.pid}/root${s.mountpoint}`)
  assert.equal(path, s.path)
  writeFileSync(join(path, 'root', 'from-host'), 'host wrote this\n')
  assert.equal(exec(home, ['cat', '/root/from-host']).stdout, 'host wrote this\n')
  assert.equal(readFileSync(join(path, 'root', 'kept'), 'utf8'), 'kept\n')
  assert.equal(readFileSync(join(path, note), 'utf8'), 'shared\n', 'path reaches the mounts of the sandbox too')

  // orphans of execs are reaped by the holder (pid 1), not left as zombies
  // (by pid, not after a fixed wait: under load the holder may reap late, but it must reap)
  assert.equal(sh(home, 'sleep 2 >/dev/null 2>&1 & true').status, 0)
  const orphans = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && stat(p)?.ppid === s.pid && stat(p)?.comm === 'sleep')
  assert.equal(orphans.length, 1, 'the sleep was left to the holder')
  for (let i = 0; i < 750 && orphans.some((p) => stat(p)); i++) await sleep(20)
  assert.deepEqual(orphans.map(stat).filter(Boolean), [], 'the holder reaps what it inherits')

  // what is left running in the sandbox ends with it
  assert.equal(sh(home, 'sleep 300 >/dev/null 2>&1 & sleep 300 >/dev/null 2>&1 & true').status, 0)
  // each exec has a mount namespace of its own (pivoted); what it leaves is the holder's child, in its pid namespace
  const before = [String(s.pid), ...readdirSync('/proc').filter((p) => /^\d+$/.test(p) && stat(p)?.ppid === s.pid && stat(p)?.comm === 'sleep')]
  assert.ok(before.length >= 3, `holder and two sleeps: ${before}`)
  const um = strata(home, ['umount', 'box', '--json'])
  assert.equal(um.status, 0, um.stderr)
  assert.deepEqual(before.filter((p) => alive(Number(p))), [], 'nothing is left of the session')
  assert.equal(alive(s.pid), false)
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions, [])
  assert.equal(exec(home, ['true']).status, 3)

  // writes in the stack persist in the upper; /tmp was the session's
  const after = strata(home, ['run', 'box', '--', 'sh', '-c', 'cat root/kept root/from-host; ls tmp | wc -l'])
  assert.equal(after.stdout, 'kept\nhost wrote this\n0\n')
})

test('mount --root --net none: execs share its network namespace, with only loopback', async (t) => {
  const {home, holders} = setup(t)
  const s = mountRoot(home, holders, ['--net', 'none'])
  assert.equal(s.sandbox.net, 'none')
  const net = exec(home, ['ip', '-o', 'link'])
  assert.equal(net.status, 0, net.stderr)
  assert.deepEqual(net.stdout.trim().split('\n').map((l) => l.split(':')[1].trim()), ['lo'])
  assert.equal(exec(home, ['readlink', '/proc/self/ns/net']).stdout, `${readlinkSync(`/proc/${s.pid}/ns/net`)}\n`)
  assert.notEqual(readlinkSync(`/proc/${s.pid}/ns/net`), readlinkSync('/proc/self/ns/net'))
  assert.equal(exec(home, ['hostname']).stdout, 'box\n', 'the default hostname is the stack name')
})

test('mount --root on the fuse backend: exec joins it chrooted, writes reach the upper', async (t) => {
  const {home, holders} = setup(t)
  t.after(() => strata(home, ['umount', 'fbox']))
  assert.equal(strata(home, ['stack', 'create', 'fbox', 'base', '--backend', 'fuse']).status, 0)
  const m = strata(home, ['mount', '--root', 'fbox', '--json'])
  assert.equal(m.status, 0, m.stderr)
  holders.add(m.json.pid)
  assert.equal(m.json.backend, 'fuse')
  const r = strata(home, ['exec', 'fbox', '--', 'sh', '-c', 'echo on-fuse > /root/f; cat /root/f /etc/os-release | head -2; readlink /proc/1/ns/mnt || echo denied'])
  assert.equal(r.status, 0, r.stderr)
  // the holder (pid 1) is the session's; from the command's nested user namespace its namespaces are out of reach
  assert.equal(r.stdout, `on-fuse\nNAME="strata-busybox"\ndenied\n`)
  assert.equal(strata(home, ['umount', 'fbox']).status, 0)
  assert.equal(strata(home, ['run', 'fbox', '--', 'cat', 'root/f']).stdout, 'on-fuse\n')
})

test('a killed root holder takes its sandbox with it, is reported stale, and is cleaned by the next mount', async (t) => {
  const {home, holders} = setup(t)
  const s = mountRoot(home, holders)
  assert.equal(sh(home, 'echo kept > /root/kept; sleep 300 >/dev/null 2>&1 & true').status, 0)
  const before = inMntNs(s.mntns)
  assert.ok(before.length >= 2)
  process.kill(s.pid, 'SIGKILL')
  for (let i = 0; i < 100 && before.some((p) => alive(Number(p))); i++) await sleep(20)
  assert.deepEqual(before.filter((p) => alive(Number(p))), [], 'the pid namespace died with its pid 1')

  const ps = strata(home, ['ps', '--json'])
  assert.deepEqual(ps.json.sessions.map((x) => [x.pid, x.state, x.root]), [[s.pid, 'stale', true]])
  assert.match(strata(home, ['ps']).stderr, /the session of 'box' is stale/)
  assert.equal(exec(home, ['true']).status, 3, 'a stale session is not joined')

  const s2 = mountRoot(home, holders)
  assert.notEqual(s2.pid, s.pid)
  assert.equal(exec(home, ['cat', '/root/kept']).stdout, 'kept\n')
  assert.deepEqual(strata(home, ['ps', '--json']).json.sessions.map((x) => [x.pid, x.state]), [[s2.pid, 'running']])
})

test('bad input to mount --root: one line, its exit code, no session left', async (t) => {
  const {home, holders} = setup(t)
  const cases = [
    {args: ['mount', '--root', 'nosuch'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['mount', '--root', 'box', '--workdir', '../../etc'], exit: 2, says: /--workdir '..\/..\/etc' is outside the stack/},
    {args: ['mount', '--root', 'box', '--workdir', '/no/such/dir'], exit: 3, says: /no directory \/no\/such\/dir in stack 'box'/},
    {args: ['mount', '--root', 'box', '--volume', '/nonexistent/src:/data'], exit: 3, says: /volume source \/nonexistent\/src does not exist/},
    {args: ['mount', '--root', 'box', '--volume', '/tmp'], exit: 2, says: /invalid --volume '\/tmp'/},
    {args: ['mount', '--root', 'box', '--env', '1BAD=x'], exit: 2, says: /invalid --env '1BAD=x'/},
    {args: ['mount', 'box', '--env', 'A=b'], exit: 2, says: /--env only applies to a sandbox — add --root/},
  ]
  for (const c of cases) {
    expectOneLineError(home, c)
    assert.deepEqual(strata(home, ['ps', '--json']).json.sessions, [], `no session after ${c.args.join(' ')}`)
  }
  // a mounted stack, as a root session or a plain one: exit 4, saying where it is
  for (const first of [['--root'], []]) {
    const m = strata(home, ['mount', ...first, 'box', '--json'])
    assert.equal(m.status, 0, m.stderr)
    holders.add(m.json.pid)
    const again = strata(home, ['mount', '--root', 'box'])
    assert.equal(again.status, 4)
    assert.match(again.stderr, new RegExp(`^strata: stack 'box' is already mounted \\(session pid ${m.json.pid}`))
    assert.equal(again.stderr.trim().split('\n').length, 1)
    assert.equal(strata(home, ['umount', 'box']).status, 0)
    assert.equal(alive(m.json.pid), false)
  }
})

/** A tmux server of our own, running one command in a real pseudo-terminal. */

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`

test('shell on a root session under a pseudo-terminal: inside the sandbox, interactive, Ctrl-C reaches the child, the status comes back', async (t) => {
  const {home, holders} = setup(t)
  const s = mountRoot(home, holders, ['--env', 'PS1=box$ ', '--hostname', 'inner'])
  // the host's $SHELL does not exist in the stack: the stack's /bin/sh runs
  const term = terminal(t, `env STRATA_HOME=${q(home)} SHELL=/usr/bin/zsh ${q(process.execPath)} ${q(bin)} shell box; echo "STRATA-EXIT=$?"; sleep 60`)
  await term.waitFor(/^box\$\s*$/m)
  term.keys('test -t 0 && test -t 1 && echo "on-a-terminal $(hostname) $(cut -d" " -f22 /proc/1/stat)"', 'Enter')
  await term.waitFor(new RegExp(`^on-a-terminal inner ${s.starttime}$`, 'm'))
  term.keys('echo from-shell > /tmp/shell-note', 'Enter')
  term.keys('sleep 1003', 'Enter') // its own number: tests run side by side
  await waitForProcess(['sleep', '1003'])
  await term.interrupt('box$ ')
  term.keys('echo "slept-$?"', 'Enter')
  await term.waitFor(/^slept-130$/m)
  term.keys('exit 3', 'Enter')
  const screen = await term.waitFor(/STRATA-EXIT=\d+/)
  assert.match(screen, /STRATA-EXIT=3/)
  assert.equal(exec(home, ['cat', '/tmp/shell-note']).stdout, 'from-shell\n', "the shell used the session's /tmp")
})

test('exec -e/-w/--user into a root session: over its environment and workdir, ids from /proc/self/status, refusals by exit code', async (t) => {
  const {home, holders} = setup(t)
  mountRoot(home, holders, ['--env', 'B=session', '--env', 'C=kept', '--workdir', '/root'])
  // the session's own, with no flags (the fast path)
  assert.equal(sh(home, 'echo "$B|$C"; pwd; id -u').stdout, 'session|kept\n/root\n0\n')
  // -e over the session's environment (NAME alone: the host's value), -w over its workdir
  const e = strata(home, ['exec', 'box', '-e', 'A=1', '-e', 'B=exec', '-e', 'FROMHOST', '-w', '/etc', '--', 'sh', '-c', 'echo "$A|$B|$C|$FROMHOST"; pwd'], {env: {FROMHOST: 'host value'}})
  assert.equal(e.status, 0, e.stderr)
  assert.equal(e.stdout, '1|exec|kept|host value\n/etc\n')
  // --user UID:GID: the ids the kernel gives the command, no supplementary groups; what it writes is theirs
  const field = (text, name) => text.split('\n').find((l) => l.startsWith(name + ':')).split(/\s+/).slice(1).filter(Boolean)
  const u = strata(home, ['exec', '--user', '1000:1001', 'box', '--', 'sh', '-c', 'cat /proc/self/status; touch /tmp/by-user; stat -c %u:%g /tmp/by-user'])
  assert.equal(u.status, 0, u.stderr)
  assert.deepEqual(field(u.stdout, 'Uid'), ['1000', '1000', '1000', '1000'])
  assert.deepEqual(field(u.stdout, 'Gid'), ['1001', '1001', '1001', '1001'])
  assert.deepEqual(field(u.stdout, 'Groups'), [])
  assert.equal(BigInt('0x' + field(u.stdout, 'CapEff')[0]), 0n, 'a non-root user holds no capabilities')
  assert.match(u.stdout, /\n1000:1001\n$/)
  assert.deepEqual(field(strata(home, ['exec', 'box', '--user', '7', '--', 'cat', '/proc/self/status']).stdout, 'Gid'), ['7', '7', '7', '7'], 'UID alone: GID the same')
  assert.equal(sh(home, 'mkdir -m 700 /closed').status, 0)
  for (const c of [
    {args: ['exec', 'box', '-w', '/nosuch', '--', 'true'], exit: 3, says: /^strata: no directory \/nosuch in the stack: No such file or directory — give -w\/--workdir a directory that exists in the stack$/},
    {args: ['exec', 'box', '-w', '/..', '--', 'true'], exit: 2, says: /--workdir '\/\.\.' is outside the stack/},
    // there, but closed to another user
    {args: ['exec', 'box', '--user', '1000', '-w', '/closed', '--', 'true'], exit: 2, says: /^strata: the command's user may not enter \/closed \(permission denied\) — give -w\/--workdir a directory that user may enter, or another --user$/},
    {args: ['exec', 'box', '--user', '4000000000', '--', 'true'], exit: 2, says: /^strata: --user 4000000000: cannot take gid 4000000000: .* — give an id the store's mapping has/},
    {args: ['exec', 'box', '--user', '1000:', '--', 'true'], exit: 2, says: /invalid --user '1000:'/},
    {args: ['exec', 'box', '-e', '=x', '--', 'true'], exit: 2, says: /invalid --env '=x'/},
  ])
    expectOneLineError(home, c)
})

test('exec into a root session: pivoted, its capability set, no_new_privs, seccomp; a :ro volume stays read-only', async (t) => {
  const {home, holders} = setup(t)
  const vol = tmp('strata-vol-')
  writeFileSync(join(vol, 'f'), 'host\n')
  mountRoot(home, holders, ['--volume', `${vol}:/srv/v:ro`, '--cap-drop', 'ALL', '--cap-add', 'SYS_ADMIN', '--cap-add', 'CHOWN'])
  const field = (text, name) => text.split('\n').find((l) => l.startsWith(name + ':'))?.split(/\s+/)[1]
  const r = sh(home, 'cat /proc/self/status; echo ---; cat /proc/self/mountinfo')
  assert.equal(r.status, 0, r.stderr)
  const [status, mountinfo] = r.stdout.split('---\n')
  const want = (1n << 21n) | 1n
  for (const set of ['CapBnd', 'CapEff', 'CapPrm', 'CapInh', 'CapAmb']) assert.equal(BigInt('0x' + field(status, set)), want, `${set} ${field(status, set)}`)
  assert.equal(field(status, 'NoNewPrivs'), '1')
  assert.equal(field(status, 'Seccomp'), '2')
  assert.equal(mountinfo.split('\n').filter((l) => l.split(' ')[4] === '/').length, 1, mountinfo)
  assert.ok(!mountinfo.includes(home), 'no host path in the mount table')
  // CAP_SYS_ADMIN of the nested namespace cannot unlock the session's mounts
  const w = sh(home, 'mount -o remount,rw /srv/v && echo remounted; echo x > /srv/v/f && echo wrote; cat /srv/v/f')
  assert.equal(w.stdout, 'host\n', w.stderr)
  assert.equal(readFileSync(join(vol, 'f'), 'utf8'), 'host\n')
})
