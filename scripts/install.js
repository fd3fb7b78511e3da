// npm's install step for strata: the prebuilt native code when one fits this
// machine and was made from these sources (scripts/native.cjs), and only
// otherwise a build from source with node-gyp, against the running node's own
// headers, so that nothing is downloaded. Without headers or a compiler it
// says in one line which packages are needed.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

const native = createRequire(import.meta.url)('./native.cjs')
const gyp = JSON.parse((await import('node:fs')).readFileSync(join(native.root, 'binding.gyp'), 'utf8'))
const files = gyp.targets.map((t) => (t.type === 'executable' ? t.target_name : t.target_name + '.node'))
// the sources' hash, kept for the starts to come (dist/native-sources.json; none yet in a fresh clone, whose build writes it)
native.writeStamp(native.root, {wait: true})
const found = files.map((f) => native.locate(f))
if (found.every((f) => f.from === 'prebuild')) process.exit(0)

const why = found.find((f) => f.from !== 'prebuild').why
const need = 'python3, make, a C compiler (gcc or g++) and node\'s headers (Debian: apt-get install python3 make g++ libnode-dev, or nodejs from a vendor that ships include/node)'
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
const headers = join(dirname(process.execPath), '..', 'include', 'node')
const missing = [!has('python3') && 'python3', !has('make') && 'make', !(has('cc') || has('gcc')) && 'a C compiler', !existsSync(join(headers, 'node_api.h')) && `node headers (${headers})`].filter(Boolean)
if (missing.length) {
  console.error(`strata: ${why}, and building it from source needs ${need}; missing: ${missing.join(', ')}`)
  process.exit(1)
}
console.error(`strata: ${why}: building the native code from source (node-gyp, headers from ${headers})`)
const nodeGyp = process.env.npm_config_node_gyp
const cmd = nodeGyp ? [process.execPath, nodeGyp] : ['node-gyp']
const r = spawnSync(cmd[0], [...cmd.slice(1), 'rebuild', `--nodedir=${join(headers, '..', '..')}`], {cwd: native.root, stdio: 'inherit'})
process.exit(r.status ?? 1)
