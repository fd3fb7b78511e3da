// The README, checked against the code (issue 18): every `$ strata …` example
// names a real command and real flags, and the examples of one scripted
// session are run as written (through sh, with `strata` on PATH), their
// output compared with what the README shows. Sections may come and go: an
// example this session doesn't know is checked for its command and flags only.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync, mkdirSync, chmodSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {root, bin, scratch, cleanHome} from './helpers.js'
import {makeRootfs} from './fixtures/rootfs.js'
import {startRegistry} from './fixtures/registry.js'

const readme = readFileSync(join(root, 'README.md'), 'utf8')
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')).commands

/** Every `$ strata …` line of a fenced block, with the lines it shows after it (up to the next `$ ` line). */
function examples() {
  const out = []
  for (const [, body] of readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
    let current = null
    for (const raw of body.split('\n')) {
      const line = raw.replace(/^ {2}(?=\$ |\S)/, '') // blocks indented in a list
      const m = /^\$ (.*)$/.exec(line)
      if (m) {
        current = /^strata\b/.test(m[1]) ? {cmd: m[1].replace(/\s{2,}#.*$/, ''), shows: []} : null
        if (current) out.push(current)
      } else if (current && line.trim()) current.shows.push(line)
    }
  }
  return out
}

/** Words as sh splits them (quotes, no expansion), up to the first ; | > < or &&. */
function words(cmd) {
  const out = []
  for (const m of cmd.matchAll(/"([^"]*)"|'([^']*)'|(;|\||>|<|&&)|(\S+)/g)) {
    if (m[3]) break
    out.push(m[1] ?? m[2] ?? m[4])
  }
  return out
}

test('every README example names a real command and real flags', () => {
  const all = examples()
  assert.ok(all.length >= 40, `only ${all.length} examples found: is the parser still reading the README?`)
  for (const {cmd, shows} of all) {
    const showsFlagError = shows.some((l) => /^strata: .*flag/.test(l)) // an example of the error itself
    const w = words(cmd).slice(1)
    if (w[0] === '__complete') continue // hidden: answered without oclif
    let id = null
    let n = 0
    for (let i = w.length; i > 0 && !id; i--) if (manifest[w.slice(0, i).join(':')]) [id, n] = [w.slice(0, i).join(':'), i]
    assert.ok(id, `\`${cmd}\`: no such command`)
    const c = manifest[id]
    const known = new Set(['--help', '-h'])
    for (const [name, f] of Object.entries(c.flags)) {
      known.add(`--${name}`)
      if (f.char) known.add(`-${f.char}`)
    }
    for (const a of w.slice(n)) {
      if (a === '--') break
      if (a.startsWith('-') && a !== '-' && !showsFlagError) assert.ok(known.has(a.split('=')[0]), `\`${cmd}\`: strata ${id.replace(/:/g, ' ')} has no flag ${a}`)
    }
  }
})

/**
 * A README output line as a pattern: ids, digests, numbers, sizes, times and
 * paths under /home/me stand for any such; `…` for anything; "1 layers" and
 * "2 layers" alike (a count's noun may be singular or plural); runs of
 * spaces (table padding) for any.
 */
function pattern(line) {
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  let p = ''
  const tokens = line.match(/\d{4}-\d\d-\d\dT[\d:.]+Z|\/home\/me\S*|\/run\/user\/\S*|sha256:[0-9a-f]+|[0-9a-f]{12,64}|…|\d+(?:\.\d+)? (?:B|KiB|MiB|GiB)\b|\d+ (?:\w+s\b|\w+ \w+s\b|\w+)|\d+|\s{2,}|[^]/gu)
  for (const t of tokens) {
    if (/^\d{4}-\d\d-\d\dT/.test(t)) p += '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z'
    else if (/^\/(home\/me|run\/user)/.test(t)) p += '\\S+?'
    else if (t.startsWith('sha256:')) p += 'sha256:[0-9a-f]+'
    else if (/^[0-9a-f]{12,64}$/.test(t) && /[a-f]/.test(t) && /\d/.test(t)) p += `[0-9a-f]{${t.length}}`
    else if (t === '…') p += '.*'
    else if (/^\d+(\.\d+)? (B|KiB|MiB|GiB)$/.test(t)) p += '\\d+(\\.\\d+)? (B|KiB|MiB|GiB)'
    else if (/^\d+ /.test(t)) {
      const [, mid, noun] = /^\d+ ((?:\w+ )?)(\w+)$/.exec(t)
      const stem = noun.endsWith('ies') ? `${noun.slice(0, -3)}(y|ies)` : /(ss|x|ch|sh)es$/.test(noun) ? `${noun.slice(0, -2)}(es)?` : noun.endsWith('s') ? `${noun.slice(0, -1)}s?` : `${noun}s?`
      p += `\\d+ ${esc(mid)}${stem}`
    } else if (/^\d+$/.test(t)) p += '\\d+'
    else if (/^\s{2,}$/.test(t)) p += '\\s+'
    else p += esc(t)
  }
  return new RegExp(`^${p}$`)
}

/** Each shown line matches a line of the output, in order (the README may show a part). */
function assertShows(cmd, shows, output) {
  // indentation aside: blocks in lists are indented as a whole
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean)
  let at = 0
  for (const s of shows) {
    const re = pattern(s.trim())
    while (at < lines.length && !re.test(lines[at])) at++
    assert.ok(at < lines.length, `\`${cmd}\`: the README shows\n  ${s}\nbut it printed\n${output}`)
    at++
  }
}

// One session, in the order a user would type it: the README's own command lines, run as written.
// A step may be {setup: 'sh command'} (a fixture or a clean-up the README leaves to the reader:
// it must succeed) or {cmd, then: (sh, output) => …}: the README command, then what it did checked.
const session = [
  'strata import ./rootfs --name base',
  'strata stack create dev tools base',
  'strata stack list',
  'strata stack inspect dev --json',
  'strata layer list',
  'strata layer inspect base',
  'strata layer rm base',
  "strata run dev -- sh -c 'echo hi > greeting; ls'",
  "strata run dev -- sh -c 'echo hi >> etc/motd; rm etc/issue; rm -rf var/cache; mkdir var/cache; ln -s motd etc/m'",
  'strata diff dev',
  'strata commit dev --name dev-2',
  'strata commit dev',
  "strata run dev -- sh -c 'echo a > a; rm etc/m'",
  'strata reset dev',
  'strata layer export base -o base.tar',
  {
    cmd: 'strata stack export dev --oci ./dev-image:v1',
    then(sh) {
      // the README's next line: skopeo reads it, with the stack's layers (dev-2 committed on tools and base); a fresh store imports it to the same layer ids
      const dev = JSON.parse(sh('strata stack inspect dev --json').stdout)
      const inspect = JSON.parse(sh('skopeo inspect oci:./dev-image:v1').stdout)
      assert.equal(inspect.Layers.length, 3)
      assert.equal(dev.layers.length, 3)
      const again = JSON.parse(sh('STRATA_HOME=./other-store strata import ./dev-image:v1 --json').stdout)
      assert.deepEqual(again.layers.map((l) => l.layer.id), dev.layers)
    },
  },
  // registries: a local one stands in for docker.io and localhost:5000 (its address in the command and in
  // what the README shows, with --tls-verify=false for its plain HTTP); the image is pushed from another store
  {setup: (reg) => `mkdir -p deb-tree/etc && echo 12 > deb-tree/etc/debian_version && STRATA_HOME=./pusher strata import ./deb-tree --stack deb0 >/dev/null && STRATA_HOME=./pusher strata push deb0 ${reg}/library/debian:12 --tls-verify=false`},
  {cmd: 'strata pull docker.io/library/debian:12 --stack deb', local: true, then: (sh) => assert.equal(sh('strata run deb -- cat etc/debian_version').stdout, '12\n')},
  {cmd: 'strata pull docker.io/library/debian:12', local: true},
  {setup: (reg) => `strata push tools ${reg}/me/dev:v0 --tls-verify=false`}, // so that one of dev's layers is there already
  {
    cmd: 'strata push dev localhost:5000/me/dev:v1 --tls-verify=false',
    local: true,
    then(sh, output, reg) {
      const dev = JSON.parse(sh('strata stack inspect dev --json').stdout)
      const again = JSON.parse(sh(`STRATA_HOME=./puller strata pull ${reg}/me/dev:v1 --tls-verify=false --json`).stdout)
      assert.deepEqual(again.layers.map((l) => l.layer.id), dev.layers, 'pulled back: the same layers')
    },
  },
  // images: a one-layer layout built by umoci (as its root, in a user namespace), and skopeo's archives of it
  {setup: 'unshare --user --map-root-user --map-auto --mount sh -ec "umoci init --layout alpine-oci; umoci new --image alpine-oci:3.20; umoci unpack --image alpine-oci:3.20 b >/dev/null; cp -a rootfs/. b/rootfs/; echo 3.20.3 > b/rootfs/etc/alpine-release; chown 33:44 b/rootfs/var/data; umoci repack --image alpine-oci:3.20 b >/dev/null; rm -rf b"'},
  {setup: 'skopeo --insecure-policy copy -q oci:./alpine-oci:3.20 oci-archive:alpine-oci.tar:3.20'},
  {setup: 'skopeo --insecure-policy copy -q oci:./alpine-oci:3.20 docker-archive:alpine-docker.tar:docker.io/library/alpine:3.20'},
  {
    cmd: 'strata import ./alpine-oci:3.20 --stack alpine',
    then(sh) {
      assert.equal(sh('strata run alpine -- cat etc/alpine-release').stdout, '3.20.3\n')
      assert.equal(sh('strata run alpine -- stat -c %u:%g var/data').stdout, '33:44\n', "the image's owners")
      alpine = JSON.parse(sh('strata stack inspect alpine --json').stdout).layers
      assert.equal(alpine.length, 1)
    },
  },
  {setup: 'strata stack rm alpine'},
  {
    cmd: 'strata import alpine-oci.tar:3.20 --stack alpine',
    then(sh) {
      assert.deepEqual(JSON.parse(sh('strata stack inspect alpine --json').stdout).layers, alpine, 'the same layer as from the layout')
      assert.equal(sh('strata run alpine -- cat etc/alpine-release').stdout, '3.20.3\n')
    },
  },
  {setup: 'strata stack rm alpine'},
  {
    cmd: 'strata import alpine-docker.tar:docker.io/library/alpine:3.20 --stack alpine --name alpine',
    then(sh) {
      const layer = JSON.parse(sh('strata layer inspect alpine --json').stdout)
      assert.deepEqual([layer.id], alpine, 'the same layer, now named alpine')
      assert.deepEqual(layer.names, ['alpine'])
      assert.equal(sh('strata run alpine -- cat etc/alpine-release').stdout, '3.20.3\n')
    },
  },
  // a root session, and exec's flags into it
  {setup: 'strata stack create debian base && chmod 755 .'}, // $PWD as a project directory is: open to the sandbox's other users
  'strata mount --root debian --env LANG=C.UTF-8 --hostname build --volume "$PWD:/src" --workdir /src',
  {
    cmd: "strata exec debian -- sh -c 'echo $$; hostname; pwd'",
    then(sh) {
      assert.equal(sh('strata exec debian -- sh -c \'echo $LANG; ls /src/rootfs/etc/os-release\'').stdout, 'C.UTF-8\n/src/rootfs/etc/os-release\n', 'the volume is the working directory')
    },
  },
  {
    cmd: 'strata exec --user 1000:1000 debian -- id -u',
    then(sh) {
      assert.equal(sh('strata exec --user 1000:1000 -e CC=clang -w /tmp debian -- sh -c \'echo $CC; pwd; id -g\'').stdout, 'clang\n/tmp\n1000\n')
    },
  },
  'strata umount debian',
  'strata mount dev',
  'strata ps',
  "strata exec dev -- sh -c 'echo hi > greeting'; strata exec dev -- cat greeting",
  'strata path dev --json',
  'strata umount dev',
  'strata layer export base',
  'strata run dev --json -- true',
  'strata run dev ls -la',
  'strata run -- ls',
  'strata check',
  'strata gc',
  'strata doctor',
  'strata stack rm dev',
  'strata stamp ./rootfs --objects ./objects',
  'strata stamp ./rootfs --objects ./objects --check',
  'strata stamp ./rootfs --objects ./objects --undo',
  // a tar.zst of the same tree (owners as a rootless tar writes them: yours): a layer of its own, named base now
  {setup: 'tar --zstd -cf rootfs.tar.zst -C rootfs .'},
  {
    cmd: 'strata import rootfs.tar.zst --name base',
    then(sh) {
      const layer = JSON.parse(sh('strata layer inspect base --json').stdout)
      assert.equal(layer.source.kind, 'tar.zst')
      assert.equal(sh('tar --zstd -tf rootfs.tar.zst | wc -l').stdout.trim(), String(layer.counts.entries))
    },
  },
]
let alpine // the image's layer ids, as the layout gave them

test("the README's examples, run as a user types them, print what it shows", async (t) => {
  const {home, work} = scratch(t)
  const registry = await startRegistry()
  t.after(() => {
    registry.stop()
    for (const store of ['other-store', 'pusher', 'puller']) cleanHome(join(work, store, 'x'))
  })
  const local = (text) => text.replace(/docker\.io\/library\/debian:12|localhost:5000/g, (m) => (m === 'localhost:5000' ? registry.host : `${registry.host}/library/debian:12`))
  const rootfs = makeRootfs(join(work, 'rootfs'))
  symlinkSync('busybox', join(rootfs, 'bin', 'ln'))
  writeFileSync(join(rootfs, 'etc', 'motd'), 'welcome\n')
  writeFileSync(join(rootfs, 'etc', 'issue'), 'strata\n')
  mkdirSync(join(rootfs, 'var', 'cache'))
  writeFileSync(join(rootfs, 'var', 'cache', 'old'), 'x')
  mkdirSync(join(work, 'tools', 'usr', 'bin'), {recursive: true})
  writeFileSync(join(work, 'tools', 'usr', 'bin', 'tool'), '#!/bin/sh\necho tool\n')
  const shims = join(work, 'shims')
  mkdirSync(shims)
  writeFileSync(join(shims, 'strata'), `#!/bin/sh\nexec '${process.execPath}' '${bin}' "$@"\n`)
  chmodSync(join(shims, 'strata'), 0o755)
  const env = {...process.env, STRATA_HOME: home, NO_COLOR: '1', PATH: `${shims}:/usr/bin:/bin`}
  const sh = (cmd) => spawnSync('sh', ['-c', cmd], {cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  assert.equal(sh('strata import ./tools --name tools').status, 0)

  const byCmd = new Map()
  for (const e of examples()) if (!byCmd.has(e.cmd.trim())) byCmd.set(e.cmd.trim(), e) // the first: later ones show other situations
  let ran = 0
  const missing = []
  for (const step of session) {
    if (step.setup) {
      const r = sh(typeof step.setup === 'function' ? step.setup(registry.host) : step.setup)
      assert.equal(r.status, 0, `setup \`${step.setup}\`:\n${r.stdout}${r.stderr}`)
      continue
    }
    const cmd = step.cmd ?? step
    const e = byCmd.get(cmd)
    if (!e) {
      missing.push(cmd) // the README no longer shows it
      continue
    }
    const run = step.local ? local(cmd) : cmd
    const r = sh(step.local && !run.includes('--tls-verify') ? `${run} --tls-verify=false` : run)
    const output = r.stdout + r.stderr
    const shows = step.local ? e.shows.map(local) : e.shows
    const refused = shows.some((l) => l.startsWith('strata: ') && !l.startsWith('strata: warning:'))
    if (refused) assert.notEqual(r.status, 0, `\`${cmd}\` should fail as the README shows:\n${output}`)
    else assert.equal(r.status, 0, `\`${cmd}\`:\n${output}`)
    if (cmd.includes('--json') && !refused) JSON.parse(r.stdout)
    else if (!cmd.startsWith("strata run dev -- sh -c 'echo hi > greeting; ls'")) assertShows(cmd, shows, output)
    step.then?.(sh, output, registry.host)
    ran++
  }
  // the image, registry and root-session examples are run, not only parsed: a README that drops one drops its check with it, so say so
  for (const m of missing) assert.doesNotMatch(m, /import|export|pull|push|--root|--user/, `the README no longer shows \`${m}\`: update this session`)
  assert.ok(ran >= 39, `only ${ran} of the session's examples are in the README: ${missing.join('; ')}`)
})
