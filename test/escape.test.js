// The escape suite (issue #11): every way out of a root session that was
// found, or that bubblewrap and podman guard against, attempted for real from
// inside the sandbox, as this unprivileged user, by a small static program
// (fixtures/probe.c) and the stack's busybox. Each test asserts the attempt
// failed, that nothing on the host changed, and, where the machine allows, a
// control that shows the same attempt succeeding where nothing holds it.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync, copyFileSync, chmodSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {strata, newHome, cleanHome, tmp, bin, terminal} from './helpers.js'
import {makeRootfs} from './fixtures/rootfs.js'

// the probe, built once for this file (gcc -static: it runs in the busybox root)
const probe = join(tmp('strata-probe-'), 'probe')
const cc = spawnSync('gcc', ['-static', '-O', '-o', probe, new URL('./fixtures/probe.c', import.meta.url).pathname], {encoding: 'utf8'})
assert.equal(cc.status, 0, `building the probe: ${cc.stderr}`)

// a file only the host has: what every escape looks for
const hostDir = tmp('strata-host-only-')
const markerName = `host-only-${randomBytes(6).toString('hex')}`
const marker = join(hostDir, markerName)
writeFileSync(marker, 'the host\n')

const roots = new Map()
function setup(t) {
  const home = newHome()
  const src = makeRootfs(join(tmp('strata-root-'), 'root'))
  copyFileSync(probe, join(src, 'bin', 'probe'))
  chmodSync(join(src, 'bin', 'probe'), 0o755)
  for (const a of ['unshare', 'chroot', 'nsenter', 'umount']) symlinkSync('busybox', join(src, 'bin', a))
  mkdirSync(join(src, 'sys')) // as a real root filesystem has: the sandbox must cover it
  t.after(() => {
    strata(home, ['umount', 'box'])
    cleanHome(home)
  })
  assert.equal(strata(home, ['import', src, '--name', 'base']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'box', 'base']).status, 0)
  roots.set(home, src)
  return home
}

const sandbox = (home, args, cmd, opts) => strata(home, ['run', '--root', ...args, 'box', '--', ...cmd], opts)
/** The probe's lines as {name: result}. */
const results = (out) => Object.fromEntries(out.split('\n').filter((l) => / /.test(l)).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]))
const unchanged = () => assert.equal(readFileSync(marker, 'utf8'), 'the host\n', 'the host marker is untouched')

test('the chroot escape, /proc/PID/root and /proc/1/ns find nothing of the host, even with every capability and no seccomp', async (t) => {
  const home = setup(t)
  const src = roots.get(home)
  for (const flags of [[], ['--cap-add', 'ALL', '--seccomp', 'unconfined']]) {
    const r = sandbox(home, flags, ['sh', '-c', `probe escape ${marker}; for p in /proc/[0-9]*; do readlink $p/root; cat $p/root${marker} 2>/dev/null && echo READ-THROUGH-$p; done; probe nsenter /proc/1/ns/mnt; cat ${marker} 2>/dev/null && echo READ-AFTER-SETNS; true`])
    assert.equal(r.status, 0, r.stderr)
    const got = results(r.stdout)
    // the attempt was real: chroot and the climb worked (CAP_SYS_CHROOT is one of the default eleven)
    assert.equal(got.chroot, 'ok', `${flags}: ${r.stdout}`)
    assert.equal(got['chroot-dot'], 'ok')
    assert.equal(got.fchdir, 'ok')
    assert.equal(got.marker, 'ENOENT', `${flags}: the host's file is not reachable: ${r.stdout}`)
    // where it climbed to is the stack's root: pivot_root left nothing above it
    assert.deepEqual(r.stdout.match(/^top:(.*)$/m)[1].trim().split(' ').sort(), ['.', '..', ...readdirSync(src)].sort(), 'the top it reached is the stack\'s root')
    assert.doesNotMatch(r.stdout, /READ-THROUGH|READ-AFTER-SETNS/)
    for (const l of r.stdout.split('\n').filter((l) => l.startsWith('/'))) assert.equal(l, '/', `every /proc/PID/root is the sandbox's root: ${r.stdout}`)
  }
  unchanged()
})

const SECCOMP_REFUSED = ['keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'open_by_handle_at', 'userfaultfd', 'mount', 'umount2', 'fsopen', 'open_tree', 'fspick', 'mount_setattr', 'pivot_root', 'kexec_load', 'init_module', 'unshare-user', 'clone-user']

test('keyctl, add_key, bpf, perf_event_open, open_by_handle_at, mount, the new mount API, new user namespaces: EPERM; --seccomp unconfined lets exactly the filter\'s share through', async (t) => {
  const home = setup(t)
  const r = sandbox(home, [], ['probe', 'syscalls'])
  assert.equal(r.status, 0, r.stderr)
  const got = results(r.stdout)
  for (const name of SECCOMP_REFUSED) assert.equal(got[name], 'EPERM', `${name}: ${r.stdout}`)
  assert.equal(got.clone3, 'ENOSYS', 'clone3 says ENOSYS, so that libc falls back to clone, whose flags the filter sees')
  // busybox's unshare -U, as a user would try it
  const u = sandbox(home, [], ['unshare', '-U', 'true'])
  assert.notEqual(u.status, 0)
  assert.match(u.stderr, /Operation not permitted/)

  // without the filter, the kernel answers: the keyrings, userfaultfd, perf and new user namespaces work
  // (a user namespace's root may use them); what needs a host capability is still refused by the kernel
  const off = sandbox(home, ['--seccomp', 'unconfined'], ['probe', 'syscalls'])
  assert.equal(off.status, 0, off.stderr)
  const k = results(off.stdout)
  for (const name of ['keyctl', 'add_key', 'userfaultfd', 'perf_event_open', 'unshare-user', 'clone-user', 'clone3']) assert.equal(k[name], 'ok', `${name} unconfined: ${off.stdout}`)
  assert.equal(k.request_key, 'ENOKEY', 'request_key reaches the kernel, which has no such key')
  for (const name of ['mount', 'fsopen', 'open_tree', 'open_by_handle_at']) assert.equal(k[name], 'EPERM', `${name} needs a capability the sandbox lacks: ${off.stdout}`)
  assert.equal(sandbox(home, ['--seccomp', 'unconfined'], ['unshare', '-U', 'true']).status, 0, 'unshare -U works once the filter is off')
})

test('--cap-add SYS_ADMIN adds that one capability to every set, and --cap-drop ALL leaves none', async (t) => {
  const home = setup(t)
  const field = (out, name) => BigInt('0x' + out.split('\n').find((l) => l.startsWith(name + ':')).split(/\s+/)[1])
  const base = sandbox(home, [], ['cat', '/proc/self/status']).stdout
  const added = sandbox(home, ['--cap-add', 'SYS_ADMIN'], ['cat', '/proc/self/status']).stdout
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
    assert.equal(field(added, set) ^ field(base, set), 1n << 21n, `${set}: only CAP_SYS_ADMIN differs`)
    assert.equal(field(sandbox(home, ['--cap-drop', 'ALL'], ['cat', '/proc/self/status']).stdout, set), 0n)
  }
  assert.equal(field(added, 'NoNewPrivs'), 1n)
  assert.equal(field(added, 'Seccomp'), 2n)
})

test('TIOCSTI on a real terminal types nothing into the caller\'s, and TIOCLINUX is refused; outside the sandbox the same probe does type', async (t) => {
  const home = setup(t)
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`
  const legacy = existsSync('/proc/sys/dev/tty/legacy_tiocsti') ? readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim() === '1' : true
  // after the probe, the caller's shell reads a line: whatever was pushed into the terminal lands there
  const run = (what) => `${what}; echo "PROBE-EXIT=$?"; read -t 3 line; echo "GOT=[$line]"; sleep 60`
  const inside = `env STRATA_HOME=${q(home)} ${q(process.execPath)} ${q(bin)} run --root box -- probe tiocsti ${q('echo INJECTED\n')}`
  for (const flags of ['', '--seccomp unconfined ']) {
    const term = terminal(t, run(inside.replace('run --root box', `run --root ${flags}box`)))
    const screen = await term.waitFor(/GOT=\[.*\]/)
    assert.match(screen, /^isatty 1$/m, 'the probe had the terminal as stdin')
    assert.match(screen, /^tiocsti E(PERM|IO)$/m, screen)
    if (!flags) {
      assert.match(screen, /^tiocsti EPERM$/m, 'refused by the filter')
      assert.match(screen, /^tioclinux EPERM$/m)
      // the same ioctl through the x32 and i386 entries: no way around the filter
      assert.doesNotMatch(screen, /^tiocsti-(x32|i386) ok$/m)
    }
    assert.match(screen, /GOT=\[\]/, `nothing was typed into the caller's terminal:\n${screen}`)
    assert.doesNotMatch(screen, /INJECTED\]/)
  }
  // the control: the probe run directly on this terminal does type, where the kernel still allows it
  if (legacy) {
    const term = terminal(t, run(`${q(probe)} tiocsti ${q('echo INJECTED\n')}`))
    const screen = await term.waitFor(/GOT=\[.*\]/)
    assert.match(screen, /^tiocsti ok$/m, screen)
    assert.match(screen, /GOT=\[echo INJECTED\]/, 'the probe can type where nothing holds it')
  }
})

test('a :ro volume: remount, mount_setattr and umount from inside fail, with CAP_SYS_ADMIN and no filter too; the host\'s files are unchanged', async (t) => {
  const home = setup(t)
  const vol = tmp('strata-vol-')
  writeFileSync(join(vol, 'f'), 'host\n')
  for (const flags of [[], ['--cap-add', 'SYS_ADMIN', '--seccomp', 'unconfined']]) {
    const r = sandbox(home, ['--volume', `${vol}:/srv/v:ro`, ...flags], ['sh', '-c', 'probe remount-rw /srv/v; mount -o remount,rw /srv/v && echo REMOUNTED; echo x > /srv/v/f && echo WROTE; touch /srv/v/new && echo CREATED; cat /srv/v/f'])
    const got = results(r.stdout)
    assert.equal(got['mount_setattr-rw'], 'EPERM', `${flags}: ${r.stdout}`)
    assert.equal(got['remount-rw'], 'EPERM')
    assert.match(got.umount, /^E(PERM|INVAL)$/)
    assert.doesNotMatch(r.stdout, /REMOUNTED|WROTE|CREATED/)
    assert.match(r.stdout, /^host$/m)
  }
  assert.equal(readFileSync(join(vol, 'f'), 'utf8'), 'host\n')
  assert.deepEqual(readdirSync(vol), ['f'])
})

test('/proc/sys, /proc/sys/net, /proc/sysrq-trigger and /sys are not writable; podman\'s masked paths read empty; the host\'s values are unchanged', async (t) => {
  const home = setup(t)
  const hostValue = (p) => readFileSync(p, 'utf8')
  const watched = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/kernel/hostname', '/proc/sys/net/core/somaxconn']
  const before = watched.map(hostValue)
  const masked = ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware']
  for (const net of ['host', 'none']) {
    const r = sandbox(home, ['--net', net], ['sh', '-c', [
      'echo 1 > /proc/sys/net/ipv4/ip_forward && echo WROTE-ip_forward',
      'echo 7 > /proc/sys/net/core/somaxconn && echo WROTE-somaxconn',
      'echo pwned > /proc/sys/kernel/hostname && echo WROTE-hostname',
      'echo h > /proc/sysrq-trigger && echo WROTE-sysrq',
      'touch /sys/x && echo WROTE-sys',
      'echo 1 > /sys/kernel/uevent_helper && echo WROTE-uevent',
      'umount /proc/keys && echo UNMASKED',
      'umount /proc/sys && echo UNLOCKED',
      ...masked.map((p) => `if [ -d ${p} ]; then echo "${p} $(ls -A ${p} | wc -l)"; elif [ -e ${p} ]; then echo "${p} $(head -c 4096 ${p} | wc -c)"; else echo "${p} absent"; fi`),
      'grep " /sys " /proc/self/mountinfo',
    ].join('; ')])
    assert.doesNotMatch(r.stdout, /WROTE|UNMASKED|UNLOCKED/, `--net ${net}: ${r.stdout}`)
    for (const p of masked.filter(existsSync)) assert.match(r.stdout, new RegExp(`^${p} (0|absent)$`, 'm'), `${p} is masked (--net ${net}): ${r.stdout}`)
    // /sys is a read-only mount (sysfs in a network namespace of its own), never the stack's directory
    assert.match(r.stdout, / \/sys .*\bro\b.* - (sysfs|tmpfs) /, r.stdout)
  }
  assert.deepEqual(watched.map(hostValue), before)
})

test('a host process of the same user cannot be signalled: its pid is not there, and kill -9 -1 reaches only the sandbox', async (t) => {
  const home = setup(t)
  const victim = spawn('sleep', ['600'], {stdio: 'ignore'})
  t.after(() => victim.kill('SIGKILL'))
  const r = sandbox(home, [], ['sh', '-c', `probe kill ${victim.pid} 9; kill -9 ${victim.pid} || echo KILL-REFUSED; ls /proc/${victim.pid} >/dev/null 2>&1 && echo SEEN; kill -9 -1; echo survived`])
  assert.equal(results(r.stdout).kill, 'ESRCH', r.stdout)
  assert.match(r.stdout, /KILL-REFUSED/)
  assert.doesNotMatch(r.stdout, /SEEN/)
  await new Promise((res) => setTimeout(res, 100))
  assert.equal(victim.exitCode, null, 'the host process lives')
  assert.equal(victim.signalCode, null)
  assert.ok(existsSync(`/proc/${victim.pid}`))
})

test('a directory descriptor the caller leaves open does not pass in; nothing in the sandbox holds one to the host', async (t) => {
  const home = setup(t)
  const dir = openSync(hostDir, 'r')
  t.after(() => closeSync(dir))
  // the control: the probe given that descriptor, outside, reaches the marker through it
  const control = spawnSync(probe, ['fds', markerName], {stdio: ['ignore', 'pipe', 'pipe', dir], encoding: 'utf8'})
  assert.match(control.stdout, /reached-own 3/, control.stdout)
  const r = spawnSync(process.execPath, [bin, 'run', '--root', 'box', '--', 'probe', 'fds', markerName], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'pipe', 'pipe', dir, dir, dir, dir], encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /fds seen [1-9]\d* reached 0$/m, r.stdout)
  assert.doesNotMatch(r.stdout, new RegExp(hostDir), 'no descriptor names the host directory')
  unchanged()
})

test('with --net none the host\'s abstract unix sockets are out of reach (with --net host they are not: the control)', async (t) => {
  const home = setup(t)
  const name = `strata-test-${randomBytes(6).toString('hex')}`
  const server = spawn(probe, ['listen-abstract', name], {stdio: ['ignore', 'pipe', 'inherit']})
  t.after(() => server.kill('SIGKILL'))
  await new Promise((res) => server.stdout.once('data', res))
  const none = sandbox(home, ['--net', 'none'], ['probe', 'abstract', name])
  assert.equal(results(none.stdout)['connect-abstract'], 'ECONNREFUSED', none.stdout + none.stderr)
  const host = sandbox(home, ['--net', 'host'], ['probe', 'abstract', name])
  assert.equal(results(host.stdout)['connect-abstract'], 'ok', host.stdout + host.stderr)
})

test('a root session: exec cannot reach the holder (pid 1) through /proc/1/root, /proc/1/ns or /proc/1/fd, nor the host by the chroot escape; SIGKILL of the holder ends the sandbox within a second', async (t) => {
  const home = setup(t)
  const m = strata(home, ['mount', '--root', 'box', '--json'])
  assert.equal(m.status, 0, m.stderr)
  t.after(() => {
    try {
      process.kill(m.json.pid, 'SIGKILL')
    } catch {}
  })
  const dir = openSync(hostDir, 'r')
  t.after(() => closeSync(dir))
  // its own uts, ipc, pid and mount namespaces: none is the host's
  const ns = strata(home, ['exec', 'box', '--', 'sh', '-c', 'for n in uts ipc pid mnt; do echo "$n $(readlink /proc/self/ns/$n)"; done'])
  assert.equal(ns.status, 0, ns.stderr)
  for (const n of ['uts', 'ipc', 'pid', 'mnt']) {
    const inside = ns.stdout.match(new RegExp(`^${n} (.*)$`, 'm'))?.[1]
    assert.ok(inside && inside !== readlinkSync(`/proc/self/ns/${n}`), `${n}: ${ns.stdout}`)
  }
  const r = spawnSync(process.execPath, [bin, 'exec', 'box', '--', 'sh', '-c', `probe escape ${marker}; cat /proc/1/root${marker} && echo READ-THROUGH; ls /proc/1/root/ >/dev/null 2>&1 && echo LISTED; probe nsenter /proc/1/ns/mnt; probe fds ${markerName}`], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'pipe', 'pipe', dir, dir], encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  const got = results(r.stdout)
  assert.equal(got.chroot, 'ok')
  assert.equal(got.marker, 'ENOENT', r.stdout)
  assert.doesNotMatch(r.stdout, /READ-THROUGH|LISTED/)
  assert.equal(got['open-ns'], 'EACCES', r.stdout)
  // the holder's descriptors: their numbers may be listed, none can be followed or opened
  const holderFds = r.stdout.split('\n').filter((l) => l.startsWith('fd 1/'))
  assert.ok(holderFds.length >= 3, r.stdout)
  for (const l of holderFds) assert.match(l, / -> !EACCES$/, "the holder's descriptors are closed to the command")
  assert.match(r.stdout, /reached 0$/m)
  unchanged()

  // SIGKILL of the holder: every process of the sandbox is gone within a second
  assert.equal(strata(home, ['exec', 'box', '--', 'sh', '-c', 'sleep 700 >/dev/null 2>&1 & sleep 701 >/dev/null 2>&1 & true']).status, 0)
  const sleepers = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return /^sleep\0(700|701)\0$/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8')) && readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1][0] !== 'Z'
    } catch {
      return false
    }
  })
  assert.equal(sleepers().length, 2)
  process.kill(m.json.pid, 'SIGKILL')
  const end = Date.now() + 1000
  while (sleepers().length && Date.now() < end) await new Promise((res) => setTimeout(res, 10))
  assert.deepEqual(sleepers(), [], 'gone within a second')
})
