// Bundles the fast paths (src/cli/fast.ts and what they load) into one file,
// dist/fast.mjs, at build time: resolving and linking some forty ES modules
// one by one costs a listing more than its own work (bench/startup.js).
// Packages stay external; the native addon is found from the package root as before.
import {build} from 'esbuild'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'fast.js')],
  outfile: join(root, 'dist', 'fast.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
})
