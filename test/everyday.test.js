// Everyday use (issue 18): owners and counts reported as they are, help and
// flags as podman and git users type them, messages that name the cause.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync, mkdirSync, chmodSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {strata, scratch, inNs, bin, expectOneLineError} from './helpers.js'
import {tarOf} from './fixtures/tar.js'
import {makeRootfs} from './fixtures/rootfs.js'

const owners = '/var/lib/strata-test/owners' // scripts/provision.sh: root's files beside the test user's

/** uid:gid of each path in a layer's tree, read inside the namespace strata uses. */
function idsIn(home, id, paths) {
  const tree = join(home, 'layers', id, 'tree')
  const out = inNs(['stat', '-c', '%u:%g', ...paths.map((p) => join(tree, p))]).stdout.toString().trim().split('\n')
  return Object.fromEntries(paths.map((p, i) => [p, out[i]]))
}

test('owners outside the id mapping are counted, named and kept as the documented id (auto: 65534)', (t) => {
  const {home} = scratch(t)
  const human = strata(home, ['import', owners])
  assert.equal(human.status, 0, human.stderr)
  // one line, strata's form, naming the first few
  const warning = human.stderr.trim().split('\n')
  assert.equal(warning.length, 1, human.stderr)
  assert.match(warning[0], /^strata: warning: 4 entries had an owner outside your id mapping, which strata can't keep: .*\/rootgroup.*65534/)
  const r = strata(home, ['layer', 'list', '--json'])
  const layer = r.json.layers[0]
  const s = layer.skipped
  assert.equal(s.squashedOwners, 4)
  assert.deepEqual([...s.paths].sort(), ['/dir', '/dir/big', '/rootfile', '/rootgroup'])
  r.json.layer = layer
  const ids = idsIn(home, r.json.layer.id, ['mine', 'rootgroup', 'rootfile', 'dir', 'dir/big'])
  assert.deepEqual(ids, {mine: '0:0', rootgroup: '0:65534', rootfile: '65534:65534', dir: '65534:65534', 'dir/big': '65534:65534'})
  assert.match(strata(home, ['layer', 'inspect', layer.id]).stdout, /4 owners outside the id mapping/)
})

test('an owner that really is 65534 (a subordinate id) is no foreign owner: kept, not reported', (t) => {
  const {home, work} = scratch(t)
  const d = join(work, 'nobody')
  // made inside the namespace: host id start+65533, which reads as 65534 there, like an unmapped one
  inNs(['sh', '-c', `mkdir ${d} && echo x > ${d}/f && echo y > ${d}/closed && mkdir ${d}/dir && chown 65534:65534 ${d}/f ${d}/closed ${d}/dir && chmod 0644 ${d}/f && chmod 0 ${d}/closed && chmod 0755 ${d}/dir`])
  const r = strata(home, ['import', d, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.skipped.squashedOwners, 0, JSON.stringify(r.json.layer.skipped))
  assert.deepEqual(idsIn(home, r.json.layer.id, ['f', 'closed', 'dir']), {f: '65534:65534', closed: '65534:65534', dir: '65534:65534'})
})

test('with --map single, owners outside the mapping become yours (0), counted and named', (t) => {
  const {home} = scratch(t)
  const r = strata(home, ['import', owners, '--json'], {env: {STRATA_MAP: 'single'}})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.skipped.squashedOwners, 4)
  assert.deepEqual([...r.json.layer.skipped.paths].sort(), ['/dir', '/dir/big', '/rootfile', '/rootgroup'])
})

test('a tar id beyond the mapping is squashed to 0, counted and named', (t) => {
  const {home, work} = scratch(t)
  const f = join(work, 'far.tar')
  writeFileSync(f, tarOf([{name: 'near', data: 'x', uid: 5, gid: 5}, {name: 'far', data: 'y', uid: 900000, gid: 5}]))
  const r = strata(home, ['import', f, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.skipped.squashedOwners, 1)
  assert.deepEqual(r.json.layer.skipped.paths, ['/far'])
  assert.deepEqual(idsIn(home, r.json.layer.id, ['near', 'far']), {near: '5:5', far: '0:0'})
})

test('counts are of what the layer holds: a later duplicate tar entry replaces the earlier one', (t) => {
  const {home, work} = scratch(t)
  const f = join(work, 'dup.tar')
  writeFileSync(f, tarOf([{name: 'a', data: 'one'}, {name: 'a', data: 'two'}, {name: 'd', type: 'dir'}, {name: 'd', type: 'dir'}, {name: 'big', data: 'z'.repeat(100)}, {name: 'big', data: 'y'.repeat(200)}]))
  const r = strata(home, ['import', f, '--json'])
  assert.equal(r.status, 0, r.stderr)
  const c = r.json.layer.counts
  assert.deepEqual({entries: c.entries, dirs: c.dirs, files: c.files, stubs: c.stubs}, {entries: 4, dirs: 2, files: 1, stubs: 1})
  assert.equal(r.json.layer.bytes.content, 3 + 200)
  const tree = join(home, 'layers', r.json.layer.id, 'tree')
  assert.equal(inNs(['cat', join(tree, 'a')]).stdout.toString(), 'two')
})

test('-h, --help and help TOPIC... work everywhere', (t) => {
  const {home} = scratch(t)
  const cases = [
    [['-h'], /USAGE\n\s+\$ strata \[COMMAND\]/],
    [['--help'], /TOPICS[\s\S]*stack/],
    [['help'], /USAGE\n\s+\$ strata \[COMMAND\]/],
    [['import', '-h'], /USAGE\n\s+\$ strata import SOURCE/],
    [['help', 'stack'], /USAGE\n\s+\$ strata stack COMMAND[\s\S]*stack create/],
    [['stack', '-h'], /USAGE\n\s+\$ strata stack COMMAND/],
    [['help', 'stack', 'create'], /USAGE\n\s+\$ strata stack create NAME LAYER\.\.\./],
    [['stack', 'create', '-h'], /USAGE\n\s+\$ strata stack create NAME LAYER\.\.\./],
    // the usage line shows one stack and the command after --
    [['run', '--help'], /USAGE\n\s+\$ strata run STACK -- CMD\.\.\.\n/],
    [['exec', '-h'], /USAGE\n\s+\$ strata exec STACK -- CMD\.\.\.\n/],
  ]
  for (const [args, says] of cases) {
    const r = strata(home, args)
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stdout, says, args.join(' '))
    assert.equal(r.stderr, '')
  }
  // -h after -- belongs to the command
  expectOneLineError(home, {args: ['run', 'nosuch', '--', 'ls', '-h'], exit: 3, says: /no stack named 'nosuch'/})
  expectOneLineError(home, {args: ['help', 'nosuch'], exit: 2, says: /no command or topic 'nosuch'/})
})

test('completion with no shell takes it from $SHELL', (t) => {
  const {home} = scratch(t)
  const zsh = strata(home, ['completion'], {env: {SHELL: '/usr/bin/zsh'}})
  assert.equal(zsh.status, 0, zsh.stderr)
  assert.match(zsh.stdout, /^#compdef strata/)
  const fish = strata(home, ['completion', '--json'], {env: {SHELL: '/usr/bin/fish'}})
  assert.equal(fish.json.shell, 'fish')
  const tcsh = strata(home, ['completion'], {env: {SHELL: '/bin/tcsh'}})
  assert.equal(tcsh.status, 2)
  assert.match(tcsh.stderr, /^strata: no completion for \$SHELL \(\/bin\/tcsh\) — name one: `strata completion bash\|zsh\|fish`\n$/)
})

test('stack rm and layer rm take several names, checking all first; id prefixes under 4 characters are refused', (t) => {
  const {home, work} = scratch(t)
  const ids = []
  for (const n of ['la', 'lb', 'lc']) { // names no hex prefix can be
    mkdirSync(join(work, n))
    writeFileSync(join(work, n, 'f'), n)
    ids.push(strata(home, ['import', join(work, n), '--name', n, '--json']).json.layer.id)
  }
  for (const s of ['s1', 's2', 's3']) assert.equal(strata(home, ['stack', 'create', s, 'la']).status, 0)
  // an unknown name removes none
  expectOneLineError(home, {args: ['stack', 'rm', 's1', 'nosuch'], exit: 3, says: /no stack named 'nosuch'/})
  assert.equal(strata(home, ['stack', 'list', '--json']).json.stacks.length, 3)
  const rm = strata(home, ['stack', 'rm', 's1', 's2', '--json'])
  assert.equal(rm.status, 0, rm.stderr)
  assert.deepEqual(rm.json, {removed: ['s1', 's2']})
  assert.deepEqual(strata(home, ['stack', 'list', '--json']).json.stacks.map((s) => s.name), ['s3'])
  // a layer in use refuses all
  expectOneLineError(home, {args: ['layer', 'rm', 'lb', 'la'], exit: 4, says: /layer [0-9a-f]{12} is used by stack s3/})
  assert.equal(strata(home, ['layer', 'list', '--json']).json.layers.length, 3)
  // as git: a prefix under 4 characters is refused, naming what it matches
  const short = expectOneLineError(home, {args: ['layer', 'rm', ids[1].slice(0, 1)], exit: 2, says: new RegExp(`layer id prefix '${ids[1][0]}' is too short \\(it matches .*${ids[1].slice(0, 12)} \\(lb\\)`)})
  assert.match(short.stderr, /give at least 4 characters/)
  assert.equal(strata(home, ['layer', 'inspect', ids[1].slice(0, 3)]).status, 2)
  const both = strata(home, ['layer', 'rm', ids[1].slice(0, 4), 'lc'])
  assert.equal(both.status, 0, both.stderr)
  assert.match(both.stdout, new RegExp(`removed layer ${ids[1].slice(0, 12)}\nremoved layer ${ids[2].slice(0, 12)}\n`))
  assert.deepEqual(strata(home, ['layer', 'list', '--json']).json.layers.map((l) => l.id), [ids[0]])
})

test('short flags: -o for stack export, -e -w -v for root sessions', (t) => {
  const {home, work} = scratch(t)
  makeRootfs(join(work, 'root'))
  assert.equal(strata(home, ['import', join(work, 'root'), '--stack', 'box']).status, 0)
  const out = strata(home, ['stack', 'export', 'box', '-o', join(work, 'img') + ':v1', '--json'])
  assert.equal(out.status, 0, out.stderr)
  assert.equal(out.json.tag, 'v1')
  mkdirSync(join(work, 'vol'))
  writeFileSync(join(work, 'vol', 'f'), 'from the host')
  const r = strata(home, ['run', '--root', '-e', 'GREETING=hi', '-w', '/src', '-v', `${join(work, 'vol')}:/src`, 'box', '--', 'sh', '-c', 'echo $GREETING; pwd; cat f'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'hi\n/src\nfrom the host')
})

test('mount points strata made for volumes are no change: diff and commit leave them out', (t) => {
  const {home, work} = scratch(t)
  makeRootfs(join(work, 'root'))
  assert.equal(strata(home, ['import', join(work, 'root'), '--stack', 'box']).status, 0)
  mkdirSync(join(work, 'vol'))
  writeFileSync(join(work, 'vol', 'f'), 'x')
  const run = (...cmd) => strata(home, ['run', '--root', '--volume', `${join(work, 'vol')}:/src`, '--volume', `${join(work, 'vol', 'f')}:/etc/ff`, '--volume', `${join(work, 'vol')}:/deep/er/mnt`, 'box', '--', ...cmd])
  const r = run('sh', '-c', 'cat /etc/ff /src/f')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'xx')
  const diff = strata(home, ['diff', 'box', '--json'])
  assert.equal(diff.status, 0, diff.stderr)
  assert.deepEqual(diff.json.changes, [])
  assert.match(strata(home, ['commit', 'box']).stdout, /nothing to commit/)
  // the user's own changes beside them still show, and a mount point the user wrote into is theirs
  const w = run('sh', '-c', 'echo new > /etc/mine; mkdir -p /deep/er/own')
  assert.equal(w.status, 0, w.stderr)
  const changes = strata(home, ['diff', 'box', '--json']).json.changes.map((c) => `${c.kind} ${c.path}`)
  assert.deepEqual(changes, ['added /deep', 'added /deep/er', 'added /deep/er/own', 'changed /etc', 'added /etc/mine'])
  const c = strata(home, ['commit', 'box', '--json'])
  assert.equal(c.status, 0, c.stderr)
  const tree = join(home, 'layers', c.json.layer.id, 'tree')
  const listed = inNs(['find', tree, '-mindepth', '1', '-printf', '/%P\\n']).stdout.toString().trim().split('\n').sort()
  assert.deepEqual(listed, ['/deep', '/deep/er', '/deep/er/own', '/etc', '/etc/mine'])
})

test('messages name the cause, with their exit codes', (t) => {
  const {home, work} = scratch(t)
  mkdirSync(join(work, 'tree'))
  writeFileSync(join(work, 'tree', 'f'), 'x')
  const tarFile = join(work, 'a.tar')
  writeFileSync(tarFile, tarOf([{name: 'a', data: 'one'}]))
  assert.equal(strata(home, ['import', join(work, 'tree'), '--stack', 'dev', '--name', 'base']).status, 0)
  const cases = [
    {args: ['import', join(work, 'tree'), '--format', 'tar'], exit: 2, says: /tree is a directory: --format tar needs a file — give the archive file/},
    {args: ['import', tarFile, '--format', 'oci'], exit: 2, says: /a\.tar is a file: --format oci needs a directory — .*--format oci-archive/},
    {args: ['import', join(work, 'tree'), '--format', 'oci'], exit: 2, says: /tree is no OCI image layout: it has no oci-layout and index\.json/},
    {args: ['import', '-'], exit: 2, says: /strata import does not read standard input \(-\) — save the stream to a file/},
    {args: ['layer', 'export', 'base'], exit: 2, says: /^strata: missing --output \(-o\) — give -o: the tar file to write .*or - for standard output$/},
    {args: ['stack', 'export', 'dev'], exit: 2, says: /^strata: missing --oci \(-o\) — give -o: image layout directory/},
    {args: ['import'], exit: 2, says: /^strata: missing SOURCE \(directory, tar file/},
    // a flag meant for strata (before --), and one meant for the command (no --)
    {args: ['run', 'dev', '--json', '--', 'true'], exit: 2, says: /^strata: strata run has no flag --json — see `strata run --help`/},
    {args: ['run', 'dev', 'ls', '-la'], exit: 2, says: /^strata: unknown flag -la — a command with flags goes after --/},
    {args: ['run', '--', 'ls'], exit: 2, says: /^strata: no stack given — name it before --: `strata run STACK -- CMD\.\.\.`/},
    {args: ['exec', '--', 'ls'], exit: 2, says: /^strata: no stack given — name it before --/},
    {args: ['run', 'dev', '--'], exit: 2, says: /^strata: no command to run/},
  ]
  for (const c of cases) expectOneLineError(home, c)
  // a terminal is refused whichever path names it; with no terminal, the cause is said
  const noTty = spawnSync('setsid', ['-w', process.execPath, bin, 'layer', 'export', 'base', '-o', '/dev/tty'], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'pipe', 'pipe']})
  assert.equal(noTty.status, 2, noTty.stderr.toString())
  assert.match(noTty.stderr.toString(), /^strata: cannot write to \/dev\/tty: there is no terminal \(no such device\) — give --output a file/)
})

test('a command that is not there says so in one wording, plain or --root', (t) => {
  const {home, work} = scratch(t)
  makeRootfs(join(work, 'root'))
  assert.equal(strata(home, ['import', join(work, 'root'), '--stack', 'box']).status, 0)
  for (const args of [['run', 'box', '--', 'nosuchcmd'], ['run', '--root', 'box', '--', 'nosuchcmd']]) {
    const r = strata(home, args, {env: {PATH: '/usr/bin:/bin'}})
    assert.equal(r.status, 127, args.join(' '))
    assert.equal(r.stderr, 'strata: nosuchcmd: command not found\n', args.join(' '))
  }
})

test('warnings in strata\'s one-line form; --force says it stopped a session', (t) => {
  const {home, work} = scratch(t)
  mkdirSync(join(work, 'tree'))
  writeFileSync(join(work, 'tree', 'f'), 'x')
  assert.equal(strata(home, ['import', join(work, 'tree'), '--name', 'n']).status, 0)
  writeFileSync(join(work, 'tree', 'g'), 'y')
  const moved = strata(home, ['import', join(work, 'tree'), '--name', 'n'])
  assert.match(moved.stderr, /^strata: warning: name 'n' moved from layer [0-9a-f]{12}\n$/)
  assert.doesNotMatch(moved.stderr, /›|Warning:/)
  // under --json the document says it, and stderr is quiet
  writeFileSync(join(work, 'tree', 'h'), 'z')
  const json = strata(home, ['import', join(work, 'tree'), '--name', 'n', '--json'])
  assert.match(json.json.nameMovedFrom, /^[0-9a-f]{64}$/)
  assert.equal(json.stderr, '')
  assert.equal(strata(home, ['stack', 'create', 'dev', 'n']).status, 0)
  for (const [cmd, ...rest] of [['commit'], ['reset'], ['stack', 'rm']]) {
    const m = strata(home, ['mount', 'dev', '--json'])
    assert.equal(m.status, 0, m.stderr)
    const args = [cmd, ...rest, 'dev', '--force']
    const r = strata(home, args)
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`^strata: warning: --force: stopped the session of dev \\(pid ${m.json.pid}\\) first\\n$`), args.join(' '))
  }
})

test('doctor finds unshare off PATH, and the fix matches the cause', (t) => {
  const {home} = scratch(t)
  const r = strata(home, ['doctor', '--json'], {env: {PATH: '/nonexistent'}})
  const unshare = r.json.checks.find((c) => c.name === 'unshare')
  assert.equal(unshare.ok, true)
  assert.match(unshare.detail, /\/usr\/bin\/unshare, not on your PATH/)
  assert.equal(r.json.checks.find((c) => c.name === 'user namespace').ok, true)
  // and strata itself works so: the user's command keeps the user's PATH
  const src = join(home, '..', 'src')
  mkdirSync(src)
  assert.equal(strata(home, ['import', src, '--stack', 'p'], {env: {PATH: '/nonexistent'}}).status, 0)
  const env = strata(home, ['run', 'p', '--', '/usr/bin/env'], {env: {PATH: '/nonexistent'}})
  assert.equal(env.status, 0, env.stderr)
  assert.match(env.stdout, /^PATH=\/nonexistent$/m)
})

test('a STRATA_HOME with no store, or one that cannot be read, is said so', (t) => {
  const {work} = scratch(t)
  for (const args of [['layer', 'list'], ['stack', 'list'], ['check'], ['gc']])
    expectOneLineError(join(work, 'nothing-here'), {args, exit: 3, says: /there is no store at .*nothing-here \(STRATA_HOME\)/})
  const closed = join(work, 'closed')
  mkdirSync(join(closed, 'store'), {recursive: true})
  chmodSync(closed, 0o000)
  t.after(() => chmodSync(closed, 0o755))
  expectOneLineError(join(closed, 'store'), {args: ['layer', 'list'], exit: 2, says: /cannot read the store at .*closed\/store \(STRATA_HOME\): permission denied/})
  expectOneLineError(work, {args: ['stack', 'list'], exit: 3, says: /there is no store at .*: it holds other things/})
})

test('plurals: one of a thing is one', (t) => {
  const {home, work} = scratch(t)
  mkdirSync(join(work, 'tree'))
  writeFileSync(join(work, 'tree', 'big'), 'z'.repeat(100))
  const r = strata(home, ['import', join(work, 'tree')])
  assert.match(r.stdout, /: 2 entries, 100 B\n  1 new object, 100 B stored\n$/)
  const c = strata(home, ['check'])
  assert.match(c.stdout, /^ok: 1 object, 1 layer, 0 stacks checked\n$/)
  const s = strata(home, ['stamp', join(work, 'tree'), '--objects', join(work, 'objects')])
  assert.match(s.stdout, /: 1 file, 100 B; 1 new object \(1 moved by rename\)/)
})
