// Bundles the fast paths (src/cli/fast.ts and what they load) into one file,
// dist/fast.mjs, at build time: resolving and linking some forty ES modules
// one by one costs a listing more than its own work (bench/startup.js).
// Packages stay external; the native addon is found from the package root as before.
import {build} from 'esbuild'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// dist/run-fast.mjs: `run [--root] STACK -- CMD` (src/cli/run-fast.ts), likewise
for (const [entry, out] of [['fast.js', 'fast.mjs'], ['run-fast.js', 'run-fast.mjs']])
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', entry)],
  outfile: join(root, 'dist', out),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
})
