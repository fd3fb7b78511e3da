// Bundles each start-up path into one CommonJS file at build time:
// dist/fast.cjs (src/cli/fast.ts: help, --version, and which listing),
// dist/listings.cjs (src/cli/listings.ts: the listings, and the store's code
// they run), dist/complete.cjs (src/cli/complete.ts: `__complete`) and
// dist/run-fast.cjs (src/cli/run-fast.ts: `run [--root] STACK -- CMD`).
// Resolving and linking some forty ES modules one by one cost a listing more
// than its own work, and node's ES module loader alone costs a fifth of node's
// start (bench/startup.js), so bin/run.js (CommonJS) loads these and no ES
// module on those paths. Packages stay external; import.meta.url becomes the
// bundle's own file URL. Each bundle's first line names its build, for the
// code caches bin/run.js keeps in dist/code-cache/.
// It also writes dist/native-sources.json (scripts/native.cjs), so that no
// start has to hash native/ to choose the prebuild.
import {build} from 'esbuild'
import {createHash} from 'node:crypto'
import {rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

// Builtins that cost a command milliseconds to load (node:crypto brings node's
// streams with it), or a good part of one, and that most runs of a fast path never call: in the
// bundles they load at their first use. The bundled code sees a stand-in whose
// properties (the builtin's own names, listed here at build time) read through
// to the builtin, loading it then.
const LAZY = ['crypto', 'child_process', 'url', 'module', 'os']
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY.join('|')})$`)
    b.onResolve({filter}, (args) =>
      args.namespace === 'lazy-builtin' ? {path: args.path, external: true} : {path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin'})
    b.onLoad({filter: /.*/, namespace: 'lazy-builtin'}, (args) => {
      const keys = Object.getOwnPropertyNames(require(`node:${args.path}`))
      return {
        loader: 'js',
        contents: `let real
const load = () => (real ??= require('node:${args.path}'))
const keys = ${JSON.stringify(keys)}
const known = new Set(keys)
module.exports = new Proxy({}, {
  get: (_, k) => (k === '__esModule' ? undefined : load()[k]),
  has: (_, k) => k in load(),
  ownKeys: () => keys,
  getOwnPropertyDescriptor: (_, k) => (known.has(k) ? {configurable: true, enumerable: true, get: () => load()[k]} : undefined),
})
`,
      }
    })
  },
}

// a new build's bundles start without code caches (bin/run.js): each names its build on its first line
rmSync(join(root, 'dist', 'code-cache'), {recursive: true, force: true})
for (const name of ['fast', 'listings', 'complete', 'run-fast']) {
  const out = await build({
    entryPoints: [join(root, 'dist', 'src', 'cli', `${name}.js`)],
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    define: {'import.meta.url': '__bundle.url', 'import.meta.dirname': '__dirname'},
    plugins: [lazyBuiltins],
    logLevel: 'warning',
  })
  // the bundle's own file URL, made only when read (node:url is not free)
  const url = 'const __bundle = {get url() { return require("node:url").pathToFileURL(__filename).href }};\n'
  const code = (out.outputFiles[0].text.includes('__bundle.url') ? url : '') + out.outputFiles[0].text
  const id = createHash('sha256').update(code).digest('hex').slice(0, 16)
  writeFileSync(join(root, 'dist', `${name}.cjs`), `// build ${id}\n${code}`)
}

require('./native.cjs').writeStamp(root)
