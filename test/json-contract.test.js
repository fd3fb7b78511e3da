// The scripting contract: every command's --json output matches its schema in
// schemas/, on success and on each documented failure (schemas/error.json), and
// the exit code is the documented one. Commands come from oclif.manifest.json,
// so a command without a schema, or without a case here, fails this test.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import Ajv2020 from 'ajv/dist/2020.js'
import {cleanHome, newHome, root, strata, tmp} from './helpers.js'
import {startRegistry} from './fixtures/registry.js'

const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
const schemaDir = join(root, 'schemas')

/** Commands without --json, and why. */
const exempt = {
  run: "its output and exit status are the inner command's own",
  exec: "its output and exit status are the inner command's own",
  shell: "an interactive shell's: its exit status is the shell's",
  help: 'its output is the help text, as `--help` prints it',
}

const ajv = new Ajv2020({allErrors: true, strict: true, strictRequired: false})
for (const dir of [schemaDir, join(schemaDir, 'defs')])
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) ajv.addSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')))
const schemaOf = (name) => ajv.getSchema(`https://strata.invalid/schemas/${name}.json`)
const fileOf = (id) => id.replace(/:/g, '-')

function check(home, args, {exit, schema}) {
  const r = strata(home, [...args, '--json'])
  const label = `strata ${args.join(' ')} --json`
  assert.equal(r.status, exit, `${label}: exit ${r.status}, wanted ${exit}\n${r.stdout}${r.stderr}`)
  assert.ok(r.json !== undefined, `${label}: stdout is not one JSON document: ${r.stdout}`)
  const validate = schemaOf(exit === 0 ? schema : 'error')
  assert.ok(validate, `no schema ${schema}`)
  assert.ok(validate(r.json), `${label} doesn't match schemas/${exit === 0 ? schema : 'error'}.json: ${ajv.errorsText(validate.errors)}\n${r.stdout}`)
  if (exit !== 0) assert.equal(r.json.error.exit, exit, `${label}: error.exit says ${r.json.error.exit}`)
  return r.json
}

let home, src, base, spare, registry
before(async () => {
  registry = await startRegistry()
  home = newHome()
  src = tmp('strata-contract-src-')
  for (const [d, file] of [['base', 'etc/os-release'], ['tools', 'usr/bin/tool'], ['spare', 'spare']]) {
    mkdirSync(join(src, d, file, '..'), {recursive: true})
    writeFileSync(join(src, d, file), `${d}\n`)
  }
  writeFileSync(join(src, 'plain-file'), 'not a directory\n')
  mkdirSync(join(src, 'stampme'))
  writeFileSync(join(src, 'stampme', 'data'), 'stamped data, long enough to become a stub in the tree\n'.repeat(3))
})
after(() => {
  registry?.stop()
  strata(home, ['umount', 'dev']) // a holder must never outlive the test
  strata(home, ['umount', 'fdev'])
  cleanHome(home)
})

test('every command has a JSON schema, or is exempt with a reason', () => {
  for (const [id, c] of Object.entries(manifest.commands)) {
    if (c.hidden) continue
    if (exempt[id]) {
      assert.equal(c.flags.json, undefined, `${id} is exempt but has --json`)
      continue
    }
    assert.ok(c.flags.json, `${id} has no --json flag: add it, or list it as exempt here with a reason`)
    assert.ok(existsSync(join(schemaDir, `${fileOf(id)}.json`)), `${id} has no schema: add schemas/${fileOf(id)}.json`)
  }
  for (const id of Object.keys(exempt)) assert.ok(manifest.commands[id], `exempt command ${id} doesn't exist`)
})

// [args, exit, schema]: each command's success and its documented failures, in order (they share a store)
const cases = () => [
  [['import', join(src, 'base'), '--name', 'base'], 0, 'import'],
  [['import', join(src, 'base')], 0, 'import'], // again: existing
  [['import', join(src, 'tools'), '--name', 'tools'], 0, 'import'],
  [['import', join(src, 'spare'), '--name', 'base'], 0, 'import'], // takes the name: nameMovedFrom
  [['import', join(src, 'nosuch')], 3, 'import'],
  [['import', join(src, 'plain-file')], 2, 'import'],
  [['import', join(src, 'tools'), '--name', 'bad name!'], 2, 'import'],
  [['import', join(src, 'tools'), '--inline-limit', '-1'], 2, 'import'],
  [['layer', 'list'], 0, 'layer-list'],
  [['layer', 'inspect', 'tools'], 0, 'layer-inspect'],
  [['layer', 'inspect', 'nosuch'], 3, 'layer-inspect'],
  [['stack', 'create', 'dev', 'tools', () => base], 0, 'stack-create'],
  [['stack', 'create', 'web', () => base, '--map', 'auto'], 0, 'stack-create'],
  [['stack', 'create', 'dev', 'tools'], 4, 'stack-create'], // exists
  [['stack', 'create', 'bad/name', 'tools'], 2, 'stack-create'],
  [['stack', 'create', 'x', 'nosuch'], 3, 'stack-create'],
  [['run', 'web', '--', 'sh', '-c', 'touch owned && chown 7:7 owned'], 0, null], // a file of another owner (in web: dev is pushed clean below)
  [['stack', 'create', 'x', 'tools', '--map', 'single'], 2, 'stack-create'], // the store is 'auto' and holds it
  [['stack', 'create', 'x', 'tools', '--map', 'sideways'], 2, 'stack-create'],
  [['stack', 'create', 'flat', 'tools', '--backend', 'kernel-flat'], 0, 'stack-create'],
  [['stack', 'create', 'x', 'tools', '--backend', 'zfs'], 2, 'stack-create'],
  [['push', 'dev', () => `${registry.host}/contract/dev:v1`, '--tls-verify=false'], 0, 'push'],
  [['push', 'nosuch', () => `${registry.host}/contract/dev:v1`, '--tls-verify=false'], 3, 'push'],
  [['push', 'dev', 'dev:v1'], 2, 'push'], // no registry
  [['pull', () => `${registry.host}/contract/dev:v1`, '--tls-verify=false', '--stack', 'pulled'], 0, 'pull'],
  [['pull', () => `${registry.host}/contract/dev:v1`, '--tls-verify=false'], 0, 'pull'], // again: nothing fetched
  [['pull', () => `${registry.host}/contract/nosuch:v1`, '--tls-verify=false'], 3, 'pull'],
  [['pull', 'debian:12'], 2, 'pull'], // a short name
  [['stack', 'list'], 0, 'stack-list'],
  [['stack', 'inspect', 'dev'], 0, 'stack-inspect'],
  [['stack', 'inspect', 'nosuch'], 3, 'stack-inspect'],
  [['stack', 'inspect', '../x'], 2, 'stack-inspect'],
  [['layer', 'rm', 'tools'], 4, 'layer-rm'], // used by dev
  [['layer', 'rm', 'nosuch'], 3, 'layer-rm'],
  [['layer', 'rm', () => spare], 0, 'layer-rm'],
  [['stack', 'rm', 'web'], 0, 'stack-rm'],
  [['stack', 'create', 'rm1', 'tools'], 0, 'stack-create'],
  [['stack', 'create', 'rm2', 'tools'], 0, 'stack-create'],
  [['stack', 'rm', 'rm1', 'rm2'], 0, 'stack-rm'], // several names: a list
  [['stack', 'rm', 'web'], 3, 'stack-rm'],
  [['layer', 'export', 'tools', '-o', () => join(src, 'tools.tar')], 0, 'layer-export'],
  [['layer', 'export', 'nosuch', '-o', () => join(src, 'x.tar')], 3, 'layer-export'],
  [['import', () => join(src, 'tools.tar'), '--stack', 'fromtar'], 0, 'import'],
  [['stack', 'export', 'fromtar', '--oci', () => join(src, 'oci') + ':v1'], 0, 'stack-export'],
  [['stack', 'export', 'nosuch', '--oci', () => join(src, 'oci2')], 3, 'stack-export'],
  [['import', () => join(src, 'oci') + ':v1', '--stack', 'fromoci'], 0, 'import'],
  [['import', () => join(src, 'oci') + ':nosuchtag'], 3, 'import'],
  [['stamp', () => join(src, 'stampme'), '--objects', () => join(src, 'stamp-objects')], 0, 'stamp'],
  [['stamp', () => join(src, 'stampme'), '--objects', () => join(src, 'stamp-objects'), '--check'], 0, 'stamp'],
  [['stamp', () => join(src, 'nosuch'), '--objects', () => join(src, 'stamp-objects')], 3, 'stamp'],
  [['mount', 'dev'], 0, 'mount'],
  [['mount', 'dev'], 4, 'mount'], // mounted already
  [['mount', 'nosuch'], 3, 'mount'],
  [['ps'], 0, 'ps'],
  [['path', 'dev'], 0, 'path'],
  [['path', 'fromtar'], 3, 'path'], // not mounted
  [['stack', 'rm', 'dev'], 4, 'stack-rm'], // mounted
  [['diff', 'dev'], 0, 'diff'], // mounted: read-only, fine
  [['commit', 'dev'], 4, 'commit'], // mounted
  [['reset', 'dev'], 4, 'reset'], // mounted
  [['umount', 'dev'], 0, 'umount'],
  [['umount', 'dev'], 3, 'umount'],
  [['mount', 'dev', '--root', '--env', 'A=b', '--volume', () => `${src}:/src:ro`], 0, 'mount'], // a root session
  [['ps'], 0, 'ps'],
  [['mount', 'dev', '--root'], 4, 'mount'],
  [['umount', 'dev'], 0, 'umount'],
  [['stack', 'create', 'fdev', 'tools', '--backend', 'fuse'], 0, 'stack-create'],
  [['mount', 'fdev'], 0, 'mount'], // fuse-overlayfs: "path": null
  [['ps'], 0, 'ps'],
  [['path', 'fdev'], 5, 'path'], // no host path under fuse
  [['umount', 'fdev'], 0, 'umount'],
  [['run', 'fromtar', '--', 'sh', '-c', 'echo x > new; printf "\\377" | xargs touch'], 0, null], // changes to diff and commit (no --json: run has none)
  [['diff', 'fromtar'], 0, 'diff'],
  [['diff', 'nosuch'], 3, 'diff'],
  [['commit', 'fromtar', '--name', 'fromtar-1'], 0, 'commit'],
  [['commit', 'fromtar'], 0, 'commit'], // nothing to commit: layer null
  [['commit', 'nosuch'], 3, 'commit'],
  [['commit', 'fromtar', '--name', 'bad name!'], 2, 'commit'],
  [['reset', 'fromtar'], 0, 'reset'],
  [['reset', 'nosuch'], 3, 'reset'],
  [['check'], 0, 'check'],
  [['check', '--quick', '--repair'], 0, 'check'],
  [['gc', '--dry-run'], 0, 'gc'],
  [['gc'], 0, 'gc'],
  [['doctor'], 0, 'doctor'],
  [['completion', 'bash'], 0, 'completion'],
  [['completion', 'tcsh'], 2, 'completion'],
]

test('each command on success and on each documented failure: schema and exit code', () => {
  const succeeded = new Set()
  for (const [args, exit, schema] of cases()) {
    if (schema === null) {
      const r = strata(home, args)
      assert.equal(r.status, exit, `strata ${args.join(' ')}: ${r.stderr}`)
      continue
    }
    const json = check(home, args.map((a) => (typeof a === 'function' ? a() : a)), {exit, schema})
    if (exit === 0) succeeded.add(schema)
    if (schema === 'import' && exit === 0 && json.format !== 'oci') {
      if (json.layer.names.includes('base') && !json.nameMovedFrom) base = json.layer.id
      if (json.nameMovedFrom) {
        assert.equal(json.nameMovedFrom, base)
        ;[spare, base] = [json.layer.id, json.nameMovedFrom] // 'base' now names the spare layer
      }
    }
  }
  assert.ok(base && spare)
  for (const [id, c] of Object.entries(manifest.commands))
    if (!c.hidden && !exempt[id]) assert.ok(succeeded.has(fileOf(id)), `no successful --json case for ${id}: add one to this test`)
})

test('every command: an unknown flag and a missing argument are usage errors (2), as JSON', () => {
  for (const [id, c] of Object.entries(manifest.commands)) {
    if (c.hidden || exempt[id]) continue
    const words = id.split(':')
    check(home, [...words, '--no-such-flag'], {exit: 2})
    if (Object.values(c.args).some((a) => a.required)) check(home, words, {exit: 2})
  }
})

test('an unknown command is a usage error (2), as JSON', () => {
  const e = check(home, ['nosuch'], {exit: 2})
  assert.match(e.error.message, /unknown command 'nosuch'/)
  const t = check(home, ['stack', 'nosuch', 'x'], {exit: 2})
  assert.match(t.error.message, /unknown command 'stack nosuch'/)
  assert.match(t.error.hint, /strata stack --help/)
  // and without --json: one line and a hint on stderr, nothing on stdout
  const r = strata(home, ['nosuch'])
  assert.equal(r.status, 2)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, /^strata: unknown command 'nosuch' — .+\n$/)
})

test('exempt commands still exit with usage errors as documented', () => {
  const r = strata(home, ['run'])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /missing STACK/)
})
