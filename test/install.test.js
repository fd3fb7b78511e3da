// Installing strata as a user would, from the packed package, on a PATH with
// no compiler, python or make: the prebuilt native code must serve (the
// package carries no build/), and doctor, an import and a run must work.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {root, tmp, cleanHome} from './helpers.js'

const compilers = /^(cc|c\+\+|gcc|g\+\+|cpp|clang.*|ld|ld\..*|as|make|gmake|python.*|node-gyp|.*-linux-gnu-.*|musl-gcc|tcc)$/

/** A bin directory holding every program of /usr/bin and /bin but compilers, make and python. */
function pathWithoutCompiler(dir) {
  mkdirSync(dir)
  for (const from of [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'])
    for (const name of existsSync(from) ? readdirSync(from) : [])
      if (!compilers.test(name) && !existsSync(join(dir, name))) symlinkSync(join(from, name), join(dir, name))
  return dir
}

test('the packed package installs with no compiler on PATH, and doctor, import and run work', async (t) => {
  const work = tmp('strata-install-')
  const bin = pathWithoutCompiler(join(work, 'bin'))
  const pass = Object.fromEntries(['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE'].filter((k) => process.env[k]).map((k) => [k, process.env[k]]))
  const env = {...pass, HOME: process.env.HOME, PATH: bin, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_fetch_retries: '1', LANG: 'C.UTF-8'}
  const run = (argv, opts = {}) => spawnSync(argv[0], argv.slice(1), {env: {...env, ...opts.env}, cwd: opts.cwd ?? work, encoding: 'utf8', timeout: 300000})
  assert.equal(run(['sh', '-c', 'command -v cc gcc make python3 || true']).stdout, '', 'the PATH holds no compiler')

  // the package as `npm pack` makes it (dist/ is built by the test command already)
  const pack = run(['npm', 'pack', '--ignore-scripts', '--pack-destination', work, root], {cwd: root})
  assert.equal(pack.status, 0, pack.stderr)
  const tarball = join(work, pack.stdout.trim().split('\n').pop())
  const list = run(['tar', '-tzf', tarball]).stdout
  assert.doesNotMatch(list, /package\/build\//, 'the package carries no local build')
  assert.match(list, /package\/prebuilds\/linux-x64-glibc\/strata_sys\.node/)

  // dependencies come from the npm registry (or the user's npm cache), as for any user
  const prefix = join(work, 'prefix')
  const inst = run(['npm', 'install', '-g', '--prefix', prefix, '--prefer-offline', tarball])
  assert.equal(inst.status, 0, `npm install -g failed:\n${inst.stdout}\n${inst.stderr}`)
  assert.doesNotMatch(inst.stderr, /building the native code from source/)
  const strata = join(prefix, 'bin', 'strata')
  const pkg = join(prefix, 'lib', 'node_modules', 'strata')
  assert.ok(!existsSync(join(pkg, 'build')), 'nothing was compiled at install')

  const home = join(work, 'home')
  t.after(() => cleanHome(home))
  const s = (args) => run([strata, ...args], {env: {STRATA_HOME: home, PATH: `${bin}`}})
  const doctor = s(['doctor', '--json'])
  assert.equal(doctor.status, 0, doctor.stderr)
  assert.ok(JSON.parse(doctor.stdout).checks.length > 0)

  const tree = join(work, 'tree')
  mkdirSync(tree)
  writeFileSync(join(tree, 'hello.txt'), 'hello from an installed strata\n'.repeat(10))
  const imp = s(['import', tree, '--name', 'hello', '--stack', 'h', '--json'])
  assert.equal(imp.status, 0, imp.stderr)
  const r = s(['run', 'h', '--', 'cat', 'hello.txt'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'hello from an installed strata\n'.repeat(10))
})
