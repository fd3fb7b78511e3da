// Shell completion, driven through the real shells (bash: COMP_WORDS and the
// completion function; fish: complete --do-complete; zsh: TAB in a zpty session)
// against a store made with the real CLI.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {bin, cleanHome, newHome, root, strata, tmp} from './helpers.js'

const completions = join(root, 'completions')
let home, env, cwd, unnamedId, baseId

before(() => {
  home = newHome()
  const src = tmp('strata-compl-src-')
  for (const [name, files] of [['base', {'etc/os-release': 'ID=test\n'}], ['tools', {'usr/bin/tool': '#!/bin/sh\necho tool\n'}], ['extra', {'opt/extra': 'extra data\n'}]]) {
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(join(src, name, p, '..'), {recursive: true})
      writeFileSync(join(src, name, p), content)
    }
  }
  const imp = (dir, ...more) => {
    const r = strata(home, ['import', join(src, dir), ...more, '--json'])
    assert.equal(r.status, 0, r.stderr)
    return r.json.layer.id
  }
  baseId = imp('base', '--name', 'base')
  imp('tools', '--name', 'tools')
  unnamedId = imp('extra')
  for (const [name, ...layers] of [['dev', 'tools', 'base'], ['web', 'base']]) assert.equal(strata(home, ['stack', 'create', name, ...layers]).status, 0)

  // `strata` on PATH, as an installed one is; a working directory with paths to complete
  const bindir = tmp('strata-compl-bin-')
  symlinkSync(bin, join(bindir, 'strata'))
  cwd = tmp('strata-compl-cwd-')
  mkdirSync(join(cwd, 'rootfs'))
  writeFileSync(join(cwd, 'rootfs.tar'), '')
  writeFileSync(join(cwd, 'notes.txt'), '')
  const runtime = tmp('strata-compl-run-')
  env = {...process.env, PATH: `${bindir}:${process.env.PATH}`, STRATA_HOME: home, XDG_RUNTIME_DIR: runtime, NO_COLOR: '1'}
})

after(() => cleanHome(home))

function run(cmd, args, extraEnv = {}) {
  const r = spawnSync(cmd, args, {cwd, env: {...env, ...extraEnv}, encoding: 'utf8', timeout: 30000})
  assert.equal(r.error, undefined, `${cmd} timed out or failed to start`)
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.split('\n').filter(Boolean)
}

/** The words bash's readline makes of a line: split at blanks, and around '=' and ':' (COMP_WORDBREAKS). */
function bashWords(line) {
  const words = []
  for (const w of line.split(' ')) words.push(...w.split(/([=:]+)/).filter((p, i, all) => p !== '' || all.length === 1))
  if (line.endsWith(' ')) words[words.length - 1] = ''
  return words
}

const shells = {
  bash: (line, extraEnv) => run('bash', ['--norc', '--noprofile', join(root, 'test/fixtures/bash-complete.sh'), join(completions, 'strata.bash'), line, ...bashWords(line)], extraEnv),
  fish: (line) => run('fish', ['--no-config', '-c', `source ${completions}/strata.fish; complete --do-complete ${JSON.stringify(line)}`]).map((l) => l.split('\t')[0]),
  zsh: (line) => run('zsh', ['-f', join(root, 'test/fixtures/zsh-complete.zsh'), completions, line]).map((l) => l.split('\t')[0]),
}
const sorted = (a) => [...a].map((v) => v.replace(/\/$/, '')).sort()

for (const [shell, complete] of Object.entries(shells)) {
  test(`${shell}: commands and topics`, () => {
    assert.deepEqual(sorted(complete('strata st')), ['stack', 'stamp'])
    assert.deepEqual(sorted(complete('strata stack ')), ['create', 'export', 'inspect', 'list', 'rm'])
    assert.deepEqual(sorted(complete('strata layer i')), ['inspect'])
  })

  test(`${shell}: flags`, () => {
    assert.deepEqual(sorted(complete('strata import --n')), ['--name'])
    assert.deepEqual(sorted(complete('strata stack create x --')), ['--backend', '--help', '--json', '--map', '--verity'])
  })

  test(`${shell}: flag values from a fixed set`, () => {
    assert.deepEqual(sorted(complete('strata stack create x --map ')), ['auto', 'single'])
    assert.deepEqual(sorted(complete('strata stack create x --backend ')), ['auto', 'fuse', 'kernel', 'kernel-flat'])
    // bash replaces the word after '='; zsh and fish the whole `--flag=value` word
    assert.deepEqual(sorted(complete('strata stack create x --map=s')), shell === 'bash' ? ['single'] : ['--map=single'])
    assert.deepEqual(sorted(complete('strata completion ')), ['bash', 'fish', 'zsh'])
  })

  test(`${shell}: stack names`, () => {
    assert.deepEqual(sorted(complete('strata stack inspect ')), ['dev', 'web'])
    assert.deepEqual(sorted(complete('strata stack rm w')), ['web'])
    assert.deepEqual(sorted(complete('strata run d')), ['dev'])
  })

  test(`${shell}: layer names and id prefixes`, () => {
    // names, and the short id of the layer that has no name
    assert.deepEqual(sorted(complete('strata layer inspect ')), sorted(['base', 'tools', unnamedId.slice(0, 12)]))
    assert.deepEqual(sorted(complete(`strata layer rm ${unnamedId.slice(0, 4)}`)), [unnamedId.slice(0, 12)])
    assert.deepEqual(sorted(complete(`strata stack create x ${baseId.slice(0, 5)}`)), [baseId.slice(0, 12)])
    assert.deepEqual(sorted(complete('strata stack create x base to')), ['tools'])
  })

  test(`${shell}: paths`, () => {
    assert.deepEqual(sorted(complete('strata import roo')), ['rootfs', 'rootfs.tar'])
    assert.deepEqual(sorted(complete('strata import no')), ['notes.txt'])
  })

  test(`${shell}: nothing where nothing fits`, () => {
    assert.deepEqual(complete('strata stack create '), []) // a new name
    assert.deepEqual(complete('strata stack list '), [])
  })
}

test('fish and zsh show descriptions', () => {
  const fish = run('fish', ['--no-config', '-c', `source ${completions}/strata.fish; complete --do-complete 'strata stack '`])
  assert.ok(fish.includes('inspect\tShow a stack'), fish.join('\n'))
  const zsh = run('zsh', ['-f', join(root, 'test/fixtures/zsh-complete.zsh'), completions, 'strata stack create x --'])
  assert.ok(zsh.some((l) => /^--map\t--map +-- id mapping of a new store/.test(l)), zsh.join('\n'))
})

test('bash without bash-completion loaded still completes', () => {
  assert.deepEqual(sorted(shells.bash('strata stack inspect ', {BASH_COMPLETION: '0'})), ['dev', 'web'])
  assert.deepEqual(sorted(shells.bash('strata stack create x --map ', {BASH_COMPLETION: '0'})), ['auto', 'single'])
})

test('after `--`, the inner command completes itself', () => {
  for (const complete of Object.values(shells)) {
    const words = complete('strata run dev -- ech')
    assert.ok(words.includes('echo'), words.join(' '))
  }
})

test('`strata completion SHELL` prints the shipped script', () => {
  for (const [shell, file] of [['bash', 'strata.bash'], ['zsh', '_strata'], ['fish', 'strata.fish']]) {
    const r = strata(home, ['completion', shell])
    assert.equal(r.status, 0)
    assert.equal(r.stdout, spawnSync('cat', [join(completions, file)], {encoding: 'utf8'}).stdout)
    assert.equal(r.stderr, '', 'no install hint off a terminal')
  }
  // on a terminal, where to install it, on stderr
  const tty = spawnSync('script', ['-qec', `${process.execPath} ${bin} completion fish >/dev/null`, '/dev/null'], {encoding: 'utf8', env, timeout: 30000})
  assert.equal(tty.status, 0)
  assert.match(tty.stdout, /fish\/completions\/strata\.fish/)
})

test('__complete answers in the cobra protocol', () => {
  const out = run(process.execPath, [bin, '__complete', 'stack', 'inspect', ''])
  assert.deepEqual(out, ['dev\tstack', 'web\tstack', ':4'])
  assert.deepEqual(run(process.execPath, [bin, '__complete', 'import', '']), [':0']) // files
  assert.deepEqual(run(process.execPath, [bin, '__complete', 'nosuch', '']), [':1'])
})

test('mounted stacks come from live session files (engine, with a command table as issue 4 declares it)', async () => {
  const {complete, loadSpec} = await import('../dist/src/cli/complete.js')
  const {Home} = await import('../dist/src/store/home.js')
  const spec = loadSpec()
  spec.commands.exec = {id: 'exec', summary: 'Run a command in a mounted stack', args: {stack: {name: 'stack'}}, flags: {}, strict: false}
  const {sessionsDir, startTime} = await import('../dist/src/runtime/session-state.js')
  const runtime = tmp('strata-compl-sessions-')
  const saved = process.env.XDG_RUNTIME_DIR
  process.env.XDG_RUNTIME_DIR = runtime
  const dir = sessionsDir(new Home(home))
  mkdirSync(dir, {recursive: true})
  const dead = spawnSync('true').pid // exited: its session is stale
  writeFileSync(join(dir, 'dev.json'), JSON.stringify({stack: 'dev', pid: process.pid, starttime: startTime(process.pid)}))
  writeFileSync(join(dir, 'web.json'), JSON.stringify({stack: 'web', pid: dead, starttime: '1'}))
  writeFileSync(join(dir, 'reused.json'), JSON.stringify({stack: 'reused', pid: process.pid, starttime: '1'})) // the pid now names another process
  try {
    const a = complete(['exec', ''], spec, new Home(home))
    assert.deepEqual(a.candidates.map((c) => c.value), ['dev'])
    assert.equal(a.directive, 4)
    process.env.XDG_RUNTIME_DIR = tmp('strata-compl-nosessions-') // no sessions directory at all
    assert.deepEqual(complete(['exec', ''], spec, new Home(home)), {candidates: [], directive: 4})
  } finally {
    process.env.XDG_RUNTIME_DIR = saved
  }
})
