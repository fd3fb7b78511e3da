// strata's records (layer.json, stack.json, session files, the digest cache)
// carry the version of their form; a record newer than this strata reads is
// refused in one line naming the file (exit 5), never misread.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {expectOneLineError, inNs, scratch, strata} from './helpers.js'

const read = (f) => JSON.parse(readFileSync(f, 'utf8'))
/** Rewrites a record's version inside the namespace (its file may belong to a mapped id). */
const setVersion = (f, v) => inNs(['sh', '-c', 'f="$1"; v="$2"; node -e "const fs=require(\'fs\');const r=JSON.parse(fs.readFileSync(process.argv[1]));r.version=Number(process.argv[2]);fs.writeFileSync(process.argv[1],JSON.stringify(r))" "$f" "$v"', 'sh', f, String(v)])

test('layer.json, stack.json, the digest cache and session files carry their version; newer ones are refused by name', (t) => {
  const {home, work} = scratch(t)
  mkdirSync(join(work, 'etc'))
  writeFileSync(join(work, 'etc', 'hostname'), 'box\n')
  writeFileSync(join(work, 'big'), 'x'.repeat(1000))
  let r = strata(home, ['import', work, '--name', 'base', '--stack', 's', '--json'])
  assert.equal(r.status, 0, r.stderr)
  const id = r.json.layer.id
  const layerJson = join(home, 'layers', id, 'layer.json')
  const stackJson = join(home, 'stacks', 's', 'stack.json')
  assert.equal(read(layerJson).version, 1)
  assert.equal(read(layerJson).id, id)
  assert.equal(read(stackJson).version, 1)
  const caches = readdirSync(join(home, 'cache', 'digests'))
  assert.equal(caches.length, 1)
  assert.equal(read(join(home, 'cache', 'digests', caches[0])).version, 1)
  // what inspect shows is the record's fields, not its version
  assert.equal(strata(home, ['layer', 'inspect', 'base', '--json']).json.version, undefined)

  setVersion(layerJson, 2)
  expectOneLineError(home, {args: ['layer', 'list'], exit: 5, says: new RegExp(`${layerJson.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a version 2 layer record; this strata reads up to version 1`)})
  setVersion(layerJson, 1)
  assert.equal(strata(home, ['layer', 'list']).status, 0)

  setVersion(stackJson, 7)
  expectOneLineError(home, {args: ['stack', 'inspect', 's'], exit: 5, says: /stack\.json is a version 7 stack record/})
  setVersion(stackJson, 1)

  // a digest cache of a newer form is a cache: read as empty, and the import is made again (the same layer)
  setVersion(join(home, 'cache', 'digests', caches[0]), 9)
  r = strata(home, ['import', work, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.id, id)
  assert.equal(read(join(home, 'cache', 'digests', caches[0])).version, 1)

  // a session's state file
  r = strata(home, ['mount', 's'])
  assert.equal(r.status, 0, r.stderr)
  t.after(() => strata(home, ['umount', 's']))
  const runtime = join(process.env.XDG_RUNTIME_DIR || `/tmp/strata-${process.getuid()}`, 'strata')
  const session = join(runtime, 'sessions', createHash('sha256').update(home).digest('hex').slice(0, 16), 's.json')
  assert.equal(read(session).version, 1)
  assert.equal(read(session).stack, 's')
  setVersion(session, 3)
  expectOneLineError(home, {args: ['ps'], exit: 5, says: /s\.json is a version 3 session record/})
  setVersion(session, 1)
  assert.equal(strata(home, ['umount', 's']).status, 0)
})
