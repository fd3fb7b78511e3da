// `run --root` and `shell`: a busybox root filesystem imported as a layer runs
// as a sandbox (its own pid 1, /proc, /dev, /tmp, hostname, network), with
// volumes and a fresh environment; shells keep the terminal under tmux.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
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
    {args: ['run', 'box', 'ls', '-la'], exit: 2, says: /Nonexistent flag: -la — a command with flags goes after --: `strata run STACK -- CMD ARGS...`/},
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
