// `run --root` and `shell`: a busybox root filesystem imported as a layer runs
// as a sandbox (its own pid 1, /proc, /dev, /tmp, hostname, network), with
// volumes and a fresh environment; shells keep the terminal under tmux.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {strata, newHome, cleanHome, tmp, bin, expectOneLineError, terminal, waitForProcess} from './helpers.js'
import {makeRootfs} from './fixtures/rootfs.js'

function setup(t) {
  const home = newHome()
  const src = makeRootfs(join(tmp('strata-root-'), 'root'))
  t.after(() => {
    strata(home, ['umount', 'box']) // holders must never leak
    cleanHome(home)
  })
  assert.equal(strata(home, ['import', src, '--name', 'base']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'box', 'base']).status, 0)
  return home
}

const sandbox = (home, args, cmd) => strata(home, ['run', '--root', 'box', ...args, '--', ...cmd])

test('run --root: the stack as a sandbox with its own pid 1, /proc, /dev, /tmp, hostname and env', async (t) => {
  const home = setup(t)
  const r = sandbox(home, [], ['sh', '-c', 'cat /etc/os-release; echo pids: $(ls /proc | grep -E "^[0-9]+$"); hostname; ls /dev; echo $HOME $PATH; env | grep -c .; pwd'])
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.split('\n')
  assert.equal(lines[0], 'NAME="strata-busybox"', "the stack's own os-release, not the host's")
  const pids = lines.find((l) => l.startsWith('pids:')).split(' ').slice(1).map(Number)
  assert.ok(pids.includes(1), `its own pid 1: ${pids}`)
  assert.ok(pids.length < 8 && Math.max(...pids) < 200, `only the sandbox's processes: ${pids}`)
  assert.ok(!pids.includes(process.pid) || process.pid < 200)
  assert.equal(lines[lines.indexOf('box')], 'box', 'hostname is the stack name')
  for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'ptmx']) assert.ok(lines.includes(d), `/dev/${d}`)
  assert.ok(lines.includes('/root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'))
  assert.ok(Number(lines.at(-3)) < 15, 'the host environment stays outside')
  assert.equal(lines.at(-2), '/')

  const dev = sandbox(home, [], ['sh', '-c', 'head -c 16 /dev/urandom | wc -c; echo gone > /dev/null && echo ok; stat -c %F /dev/null'])
  assert.equal(dev.stdout, '16\nok\ncharacter special file\n', dev.stderr)

  // --env, --workdir, --hostname
  const e = sandbox(home, ['--env', 'GREETING=hi there', '--env', 'NO_COLOR', '--workdir', '/etc', '--hostname', 'inner'], ['sh', '-c', 'echo "$GREETING|$NO_COLOR|$(pwd)|$(hostname)"'])
  assert.equal(e.stdout, 'hi there|1|/etc|inner\n', e.stderr)

  // writes persist in the upper; /tmp is a fresh tmpfs every time
  assert.equal(sandbox(home, [], ['sh', '-c', 'echo kept > /root/kept; echo lost > /tmp/lost']).status, 0)
  const again = sandbox(home, [], ['sh', '-c', 'cat /root/kept; ls /tmp | wc -l'])
  assert.equal(again.stdout, 'kept\n0\n')
  assert.equal(strata(home, ['run', 'box', '--', 'cat', 'root/kept']).stdout, 'kept\n')

  // exit status and signals come back
  assert.equal(sandbox(home, [], ['sh', '-c', 'exit 9']).status, 9)
  assert.equal(sandbox(home, [], ['sh', '-c', 'kill -TERM $$']).status, 143)
  assert.equal(sandbox(home, [], ['nosuchcommand']).status, 127)
})

test('run --root --net none has only loopback, up; volumes are writable, or read-only with :ro', async (t) => {
  const home = setup(t)
  const net = sandbox(home, ['--net', 'none'], ['ip', '-o', 'link'])
  assert.equal(net.status, 0, net.stderr)
  const links = net.stdout.trim().split('\n')
  assert.equal(links.length, 1, net.stdout)
  assert.match(links[0], /^1: lo: <LOOPBACK,UP,LOWER_UP>/)
  const ping = sandbox(home, ['--net', 'none'], ['ip', '-o', '-4', 'addr'])
  assert.match(ping.stdout, /lo\s+inet 127\.0\.0\.1/)

  const vol = tmp('strata-vol-')
  writeFileSync(join(vol, 'in'), 'from the host\n')
  const rw = sandbox(home, ['--volume', `${vol}:/srv/data`], ['sh', '-c', 'cat /srv/data/in; echo from-sandbox > /srv/data/out'])
  assert.equal(rw.status, 0, rw.stderr)
  assert.equal(rw.stdout, 'from the host\n')
  assert.equal(readFileSync(join(vol, 'out'), 'utf8'), 'from-sandbox\n')

  const ro = sandbox(home, ['--volume', `${vol}:/srv/data:ro`], ['sh', '-c', 'cat /srv/data/out; echo x > /srv/data/nope'])
  assert.notEqual(ro.status, 0)
  assert.equal(ro.stdout, 'from-sandbox\n')
  assert.match(ro.stderr, /Read-only file system/)
  assert.equal(existsSync(join(vol, 'nope')), false)
  // the mount point was made in the stack; nothing of the volume landed in the upper
  assert.equal(strata(home, ['run', 'box', '--', 'ls', '-A', 'srv/data']).stdout, '')

  const file = join(vol, 'single')
  writeFileSync(file, 'one file\n')
  assert.equal(sandbox(home, ['--volume', `${file}:/etc/single:ro`], ['cat', '/etc/single']).stdout, 'one file\n')
})

test('a host process writes through `strata path`; a sandbox of the mounted stack sees it', async (t) => {
  const home = setup(t)
  const m = strata(home, ['mount', 'box', '--json'])
  assert.equal(m.status, 0, m.stderr)
  writeFileSync(join(m.json.path, 'root', 'from-host'), 'host wrote this\n')
  const r = sandbox(home, [], ['sh', '-c', 'cat /root/from-host; echo back > /root/from-sandbox; echo $$'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.split('\n')[0], 'host wrote this')
  assert.equal(readFileSync(join(m.json.path, 'root', 'from-sandbox'), 'utf8'), 'back\n', 'the sandbox wrote into the session')
  // the sandbox's mounts stay its own: the session has no /proc of it in the merged view
  assert.deepEqual(readdirSync(join(m.json.path, 'proc')), [])
  assert.equal(strata(home, ['umount', 'box']).status, 0)
})

test('bad input to run --root: one line, its exit code', async (t) => {
  const home = setup(t)
  const cases = [
    {args: ['run', '--root', 'nosuch', '--', 'true'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['run', '--root', 'box'], exit: 2, says: /no command to run/},
    {args: ['run', '--root', 'box', '--volume', '/nonexistent/src:/data', '--', 'true'], exit: 3, says: /volume source \/nonexistent\/src does not exist/},
    {args: ['run', '--root', 'box', '--volume', '/tmp', '--', 'true'], exit: 2, says: /invalid --volume '\/tmp'/},
    {args: ['run', '--root', 'box', '--workdir', '../../etc', '--', 'true'], exit: 2, says: /--workdir '..\/..\/etc' is outside the stack/},
    {args: ['run', '--root', 'box', '--workdir', '/srv/../../x', '--', 'true'], exit: 2, says: /is outside the stack/},
    {args: ['run', '--root', 'box', '--workdir', '/no/such/dir', '--', 'true'], exit: 3, says: /no directory \/no\/such\/dir in stack 'box'/},
    {args: ['run', '--root', 'box', '--net', 'bogus', '--', 'true'], exit: 2, says: /bogus/},
    {args: ['run', 'box', '--volume', '/tmp:/x', '--', 'true'], exit: 2, says: /--volume only applies to a sandbox — add --root/},
    {args: ['run', 'box', 'ls', '-la'], exit: 2, says: /unknown flag -la — a command with flags goes after --: `strata run STACK -- CMD ARGS...`/},
    {args: ['shell', '--root', 'nosuch'], exit: 3, says: /no stack named 'nosuch'/},
  ]
  for (const c of cases) {
    expectOneLineError(home, c)
  }
})

/** A tmux server of our own, running one command in a real pseudo-terminal. */

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`

for (const kind of ['shell --root', 'shell']) {
  test(`${kind} under a pseudo-terminal: interactive, Ctrl-C reaches the child not strata, the status comes back`, async (t) => {
    const home = setup(t)
    if (kind === 'shell') assert.equal(strata(home, ['mount', 'box']).status, 0)
    const env = `STRATA_HOME=${q(home)} SHELL=/bin/sh PS1='box$ '`
    const term = terminal(t, `env ${env} ${q(process.execPath)} ${q(bin)} ${kind} box${kind === 'shell' ? '' : ' --env PS1'}; echo "STRATA-EXIT=$?"; sleep 60`)
    await term.waitFor(/^box\$\s*$/m)
    term.keys('test -t 0 && test -t 1 && echo "on-a-terminal"', 'Enter')
    await term.waitFor(/^on-a-terminal$/m)
    const nap = kind === 'shell' ? '1001' : '1002' // its own number: tests run side by side
    term.keys(`sleep ${nap}`, 'Enter')
    await waitForProcess(['sleep', nap])
    await term.interrupt('box$ ')
    term.keys('echo "slept-$?"', 'Enter')
    await term.waitFor(/^slept-130$/m) // sleep died of SIGINT; the shell lives on
    term.keys('echo still-here', 'Enter')
    await term.waitFor(/^still-here$/m)
    term.keys('exit 3', 'Enter')
    const s = await term.waitFor(/STRATA-EXIT=\d+/)
    assert.match(s, /STRATA-EXIT=3/, 'strata survived Ctrl-C and passed the exit status back')
  })
}

// ---- the sandbox engine (strata-ns): what a root session's command is held by ----
const statusField = (text, name) => text.split('\n').find((l) => l.startsWith(name + ':'))?.split(/\s+/)[1]
const DEFAULT_CAPS = (1n << 0n) | (1n << 1n) | (1n << 3n) | (1n << 4n) | (1n << 5n) | (1n << 6n) | (1n << 7n) | (1n << 8n) | (1n << 10n) | (1n << 18n) | (1n << 31n)

test('run --root: pivoted root, podman\'s eleven capabilities in every set, no_new_privs, seccomp, an init that is not node', async (t) => {
  const home = setup(t)
  const r = sandbox(home, [], ['sh', '-c', 'cat /proc/self/status; echo ---; cat /proc/self/mountinfo; echo ---; cat /proc/1/cmdline | tr "\\0" " "; echo; readlink /proc/1/root; cat /proc/1/status'])
  assert.equal(r.status, 0, r.stderr)
  const [status, mountinfo, init] = r.stdout.split('---\n')
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
    assert.equal(BigInt('0x' + statusField(status, set)), DEFAULT_CAPS, `${set}: ${statusField(status, set)}`)
  assert.equal(statusField(status, 'NoNewPrivs'), '1')
  assert.equal(statusField(status, 'Seccomp'), '2')
  // pivot_root, not a chroot: the host's mounts are not in the sandbox's table at all
  const mounts = mountinfo.trim().split('\n').map((l) => l.split(' '))
  const rootMount = mounts.find((f) => f[4] === '/')
  assert.ok(rootMount, mountinfo)
  assert.match(rootMount[rootMount.indexOf('-') + 1], /overlay|fuse/, 'the root is the stack')
  assert.equal(mounts.filter((f) => f[4] === '/').length, 1, 'one root mount, no host root under it')
  assert.ok(!mountinfo.includes(home), `no host path in the mount table: ${mountinfo}`)
  // pid 1 is strata-ns's init, holding nothing the command doesn't
  assert.ok(!/node|inner\.js/.test(init.split('\n')[0]), `pid 1: ${init.split('\n')[0]}`)
  assert.equal(BigInt('0x' + statusField(init, 'CapEff')), 0n, 'init has no effective capability')
  assert.ok(BigInt('0x' + statusField(init, 'CapBnd')) === DEFAULT_CAPS, 'nor a wider bounding set')
  assert.equal(init.split('\n')[1], '/')

  // --cap-drop ALL, --cap-add
  const none = sandbox(home, ['--cap-drop', 'ALL'], ['cat', '/proc/self/status'])
  assert.equal(BigInt('0x' + statusField(none.stdout, 'CapBnd')), 0n, none.stderr)
  assert.equal(BigInt('0x' + statusField(none.stdout, 'CapEff')), 0n)
  const more = sandbox(home, ['--cap-add', 'NET_RAW', '--cap-drop', 'CAP_KILL'], ['cat', '/proc/self/status'])
  assert.equal(BigInt('0x' + statusField(more.stdout, 'CapEff')), (DEFAULT_CAPS | (1n << 13n)) & ~(1n << 5n), more.stderr)
  expectOneLineError(home, {args: ['run', '--root', 'box', '--cap-add', 'FLY', '--', 'true'], exit: 2, says: /unknown capability 'FLY'/})

  // --user: another id inside, as podman gives it: the default bounding set, nothing effective
  const user = sandbox(home, ['--user', '1000:1000'], ['sh', '-c', 'id -u; id -g; cat /proc/self/status'])
  assert.equal(user.status, 0, user.stderr)
  assert.deepEqual(user.stdout.split('\n').slice(0, 2), ['1000', '1000'])
  assert.equal(BigInt('0x' + statusField(user.stdout, 'CapBnd')), DEFAULT_CAPS)
  assert.equal(BigInt('0x' + statusField(user.stdout, 'CapEff')), 0n)
  const bare = sandbox(home, ['--cap-drop', 'ALL', '--user', '1000:1000'], ['cat', '/proc/self/status'])
  assert.equal(bare.status, 0, bare.stderr)
  assert.equal(BigInt('0x' + statusField(bare.stdout, 'CapBnd')), 0n)
})

test('run --root: the kernel\'s knobs are read-only, podman\'s masked paths masked, /sys never writable, mount refused', async (t) => {
  const home = setup(t)
  const r = sandbox(home, [], ['sh', '-c', [
    'echo 1 > /proc/sys/kernel/ns_last_pid && echo sys-written',
    'echo 1 > /proc/sys/net/ipv4/ip_forward && echo net-written',
    'echo h > /proc/sysrq-trigger && echo sysrq-written',
    'echo keys: $(cat /proc/keys | wc -c)',
    'echo kcore: $(head -c 16 /proc/kcore | wc -c)',
    'echo acpi: $(ls /proc/acpi 2>/dev/null | wc -l)',
    'touch /sys/x && echo sys-dir-written',
    'mkdir /mnt; mount -t tmpfs none /mnt && echo mounted',
  ].join('; ')])
  for (const bad of ['sys-written', 'net-written', 'sysrq-written', 'sys-dir-written', 'mounted']) assert.ok(!r.stdout.includes(bad), `${bad}: ${r.stdout}`)
  assert.match(r.stdout, /keys: 0\n/)
  assert.match(r.stdout, /kcore: 0\n/)
  assert.match(r.stdout, /acpi: 0\n/)
  assert.match(r.stderr, /Read-only file system|Permission denied|Operation not permitted/)
})

test('run --root: a :ro volume stays read-only even with CAP_SYS_ADMIN and no seccomp (its mount is locked)', async (t) => {
  const home = setup(t)
  const vol = tmp('strata-vol-')
  writeFileSync(join(vol, 'f'), 'host\n')
  // flags before the stack: --volume takes one value, `box` stays the stack
  const r = strata(home, ['run', '--root', '--volume', `${vol}:/srv/v:ro`, '--cap-add', 'SYS_ADMIN', '--seccomp', 'unconfined', 'box', '--', 'sh', '-c',
    'mount -o remount,rw /srv/v && echo remounted; mount -o remount,bind,rw /srv/v && echo rebound; echo x > /srv/v/f && echo wrote; cat /srv/v/f'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'host\n', r.stderr)
  assert.match(r.stderr, /--seccomp unconfined/)
  assert.equal(readFileSync(join(vol, 'f'), 'utf8'), 'host\n')
  assert.equal(statusField(sandbox(home, ['--seccomp', 'unconfined'], ['cat', '/proc/self/status']).stdout, 'Seccomp'), '0')
})

test('run --root --seccomp FILE: an OCI profile replaces the default filter', async (t) => {
  const home = setup(t)
  const profile = join(tmp('strata-sc-'), 'p.json')
  writeFileSync(profile, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]}))
  const r = sandbox(home, ['--seccomp', profile], ['sh', '-c', 'mkdir /root/d && echo made; cat /proc/self/status | grep Seccomp:'])
  assert.doesNotMatch(r.stdout, /made/)
  assert.match(r.stderr, /Permission denied/)
  assert.match(r.stdout, /Seccomp:\s+2/)
  // the default filter does not refuse mkdir
  assert.equal(sandbox(home, [], ['mkdir', '/root/d']).status, 0)
  writeFileSync(profile, '{"syscalls": []}')
  expectOneLineError(home, {args: ['run', '--root', 'box', '--seccomp', profile, '--', 'true'], exit: 2, says: /no defaultAction/})
})

test('run --root: only stdin, stdout and stderr pass in; SIGKILL of strata ends the sandbox within a second', async (t) => {
  const home = setup(t)
  const {spawn} = await import('node:child_process')
  const {openSync} = await import('node:fs')
  const leak = openSync(tmp('strata-leak-'), 'r') // a directory descriptor the caller left open
  const fds = spawnSync(process.execPath, [bin, 'run', '--root', 'box', '--', 'ls', '/proc/self/fd'], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'pipe', 'pipe', leak, leak, leak]})
  assert.equal(fds.status, 0, fds.stderr.toString())
  assert.deepEqual(fds.stdout.toString().trim().split('\n').map(Number).sort(), [0, 1, 2, 3], 'stdio and ls\'s own directory only')

  const tag = String(4000 + Math.floor(Math.random() * 1000))
  const child = spawn(process.execPath, [bin, 'run', '--root', 'box', '--', 'sh', '-c', `sleep ${tag} & sleep ${tag}`], {env: {...process.env, STRATA_HOME: home}, stdio: 'ignore'})
  const sleepers = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${tag}\0`
    } catch {
      return false
    }
  })
  const until = async (cond, ms) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (cond()) return true
    return cond()
  }
  assert.ok(await until(() => sleepers().length === 2, 20000), 'the sandbox started')
  child.kill('SIGKILL')
  assert.ok(await until(() => sleepers().length === 0, 1000), `left running: ${sleepers()}`)
})

test('doctor lists which protections root sessions get here; --security-opt takes allow-missing only', async (t) => {
  const home = setup(t)
  const d = strata(home, ['doctor', '--json'])
  const names = Object.fromEntries(d.json.protections.map((p) => [p.name, p.enforced]))
  assert.equal(names['seccomp filter'], true, JSON.stringify(d.json.protections))
  assert.equal(names['nested user namespace (mounts locked)'], true)
  assert.match(strata(home, ['doctor']).stdout, /^ok\s+seccomp filter$/m)
  assert.equal(sandbox(home, ['--security-opt', 'allow-missing'], ['true']).status, 0)
  expectOneLineError(home, {args: ['run', '--root', 'box', '--security-opt', 'lax', '--', 'true'], exit: 2, says: /unknown --security-opt 'lax'/})
  expectOneLineError(home, {args: ['run', 'box', '--cap-add', 'NET_RAW', '--', 'true'], exit: 2, says: /--cap-add only applies to a sandbox/})
})

/**
 * A stack with nc, httpd and a page at /srv/www, a server on the host's loopback
 * that writes one line, and run(args): strata as a child (not spawnSync: the
 * server is in this process, and must answer while strata runs).
 */
async function netFixture(t, page) {
  const home = newHome()
  const src = makeRootfs(join(tmp('strata-root-'), 'root'))
  for (const a of ['nc', 'httpd', 'cut', 'timeout']) if (!existsSync(join(src, 'bin', a))) symlinkSync('busybox', join(src, 'bin', a))
  mkdirSync(join(src, 'srv', 'www'), {recursive: true})
  writeFileSync(join(src, 'srv', 'www', 'index.html'), page)
  t.after(() => cleanHome(home))
  assert.equal(strata(home, ['import', src, '--name', 'base']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'box', 'base']).status, 0)
  const {spawn} = await import('node:child_process')
  const {createServer} = await import('node:net')
  const server = createServer((c) => c.write('from the host\n', () => c.destroy()))
  await new Promise((res) => server.listen(0, '127.0.0.1', res))
  t.after(() => server.close())
  const run = (args) => new Promise((res) => {
    const c = spawn(process.execPath, [bin, ...args], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d) => (stdout += d))
    c.stderr.on('data', (d) => (stderr += d))
    c.on('exit', (status) => res({status, stdout, stderr}))
  })
  return {home, server, run, spawn}
}

test('run --root --net private: outbound to a server on the host\'s loopback through pasta\'s gateway address; --publish reaches a server inside; pasta ends with the run, and with strata killed', async (t) => {
  // outbound: a server the test runs on the host's loopback, reached at the sandbox's gateway address
  // write, then close; the pasta of Debian 12 sometimes loses the host side's FIN, which leaves nc
  // waiting after the line arrived (nc's -w bounds only the connect): timeout ends it, the line is what counts
  const {home, server, run: runAsync, spawn} = await netFixture(t, 'served from the sandbox\n')
  const out = await runAsync(['run', '--root', '--net', 'private', 'box', '--', 'sh', '-c', `ip -o link | cut -d: -f2; gw=$(ip route | grep ^default | cut -d" " -f3); echo "gw $gw"; timeout 10 nc -w 5 $gw ${server.address().port} </dev/null; true`])
  assert.equal(out.status, 0, out.stderr)
  const lines = out.stdout.split('\n').map((l) => l.trim())
  assert.ok(lines.includes('lo') && lines.length >= 4, `loopback and pasta's interface: ${out.stdout}`)
  assert.match(out.stdout, /^gw \d+\.\d+\.\d+\.\d+$/m)
  assert.match(out.stdout, /^from the host$/m, out.stdout + out.stderr)
  // its own network namespace: not the host's
  assert.notEqual(sandbox(home, ['--net', 'private'], ['readlink', '/proc/self/ns/net']).stdout.trim(), readlinkSync('/proc/self/ns/net'))

  // --publish: the host reaches a server inside at its own port
  const hostPort = 20000 + Math.floor(Math.random() * 20000)
  const pastas = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')
      return args.includes('--config-net') && args.includes(`${hostPort}:8080`)
    } catch {
      return false
    }
  })
  const child = spawn(process.execPath, [bin, 'run', '--root', '--net', 'private', '--publish', `${hostPort}:8080`, 'box', '--', 'sh', '-c', 'httpd -p 8080 -h /srv/www && echo listening; read line; echo "bye $line"'], {env: {...process.env, STRATA_HOME: home}, stdio: ['pipe', 'pipe', 'pipe']})
  let said = ''
  child.stdout.on('data', (d) => (said += d))
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const exited = new Promise((res) => child.on('exit', res))
  await Promise.race([new Promise((res) => child.stdout.on('data', () => said.includes('listening') && res())), exited])
  assert.match(said, /listening/, err)
  assert.equal(pastas().length, 1, 'pasta runs for the sandbox')
  const page = await fetch(`http://127.0.0.1:${hostPort}/index.html`, {signal: AbortSignal.timeout(20000)}).then((r) => r.text())
  assert.equal(page, 'served from the sandbox\n')
  child.stdin.end('done\n')
  assert.equal(await exited, 0, err)
  assert.match(said, /bye done/)
  assert.deepEqual(pastas(), [], 'pasta ended with the run')

  // SIGKILL of strata: the sandbox and pasta go with it
  const killed = spawn(process.execPath, [bin, 'run', '--root', '--net', 'private', '--publish', `${hostPort}:8080`, 'box', '--', 'sh', '-c', 'echo up; sleep 900'], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'pipe', 'pipe']})
  let killedErr = ''
  killed.stderr.on('data', (d) => (killedErr += d))
  assert.equal(await Promise.race([new Promise((res) => killed.stdout.once('data', () => res('up'))), new Promise((res) => killed.on('exit', () => res('exited')))]), 'up', killedErr)
  assert.equal(pastas().length, 1)
  killed.kill('SIGKILL')
  const end = Date.now() + 1000
  while (pastas().length && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  assert.deepEqual(pastas(), [], 'pasta ended with strata')

  expectOneLineError(home, {args: ['run', '--root', 'box', '--publish', '8080:80', '--', 'true'], exit: 2, says: /--publish needs a network of the sandbox's own — add --net private/})
  expectOneLineError(home, {args: ['run', '--root', 'box', '--net', 'private', '--publish', '80', '--', 'true'], exit: 2, says: /invalid --publish '80'/})
})

test('mount --root --net private: a root session keeps its network; exec reaches the host\'s loopback and --publish a server inside; pasta ends at umount and when the holder is killed', async (t) => {
  const {home, server, run} = await netFixture(t, 'served from the session\n')
  const hostPort = 20000 + Math.floor(Math.random() * 20000)
  const pastas = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')
      return args.includes('--config-net') && args.includes(`${hostPort}:8080`) && basename(args[0]) === 'pasta'
    } catch {
      return false
    }
  })
  const gone = async (what) => {
    const end = Date.now() + 1000
    while (pastas().length && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(pastas(), [], what)
  }
  for (const end of ['umount', 'kill']) {
    const m = await run(['mount', '--root', '--net', 'private', '--publish', `${hostPort}:8080`, 'box'])
    assert.equal(m.status, 0, m.stderr)
    assert.equal(pastas().length, 1, 'pasta outlives strata mount, for the session')
    // the session's own network namespace, shared by every exec
    const ns = await run(['exec', 'box', '--', 'readlink', '/proc/self/ns/net'])
    assert.notEqual(ns.stdout.trim(), readlinkSync('/proc/self/ns/net'))
    assert.equal((await run(['exec', 'box', '--', 'readlink', '/proc/self/ns/net'])).stdout, ns.stdout)
    const out = await run(['exec', 'box', '--', 'sh', '-c', `gw=$(ip route | grep ^default | cut -d" " -f3); timeout 10 nc -w 5 $gw ${server.address().port} </dev/null; true`])
    assert.match(out.stdout, /^from the host$/m, out.stdout + out.stderr)
    assert.equal((await run(['exec', 'box', '--', 'httpd', '-p', '8080', '-h', '/srv/www'])).status, 0)
    const page = await fetch(`http://127.0.0.1:${hostPort}/index.html`, {signal: AbortSignal.timeout(20000)}).then((r) => r.text())
    assert.equal(page, 'served from the session\n')
    if (end === 'umount') {
      assert.equal((await run(['umount', 'box'])).status, 0)
      await gone('pasta ended with the session')
    } else {
      const ps = JSON.parse((await run(['ps', '--json'])).stdout)
      process.kill(ps.sessions.find((s) => s.stack === 'box').pid, 'SIGKILL')
      await gone('pasta ended with the killed holder')
      await run(['umount', 'box'])
    }
  }
})
