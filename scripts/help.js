// Renders every help page once, at build time, into dist/help.json, so that
// `strata --help`, `-h` and `help TOPIC` are answered without loading oclif
// (src/cli/fast.ts). Each page is exactly what oclif prints for it, at 80
// columns; a command or topic missing here falls through to oclif itself.
import {execFile} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = promisify(execFile)
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
const ids = new Set([''])
for (const [id, c] of Object.entries(manifest.commands)) {
  if (c.hidden) continue
  ids.add(id)
  for (const a of c.aliases ?? []) ids.add(a.replace(/ /g, ':'))
  const parts = id.split(':')
  for (let i = 1; i < parts.length; i++) ids.add(parts.slice(0, i).join(':'))
}
const env = {...process.env, STRATA_NO_FAST: '1', COLUMNS: '80', NO_COLOR: '1'}
delete env.FORCE_COLOR
const pages = {}
const list = [...ids].sort()
// four at a time: each is a node start-up with oclif
for (let i = 0; i < list.length; i += 4)
  await Promise.all(list.slice(i, i + 4).map(async (id) => {
    const {stdout} = await run(process.execPath, [join(root, 'bin', 'run.js'), ...(id ? id.split(':') : []), '--help'], {env, cwd: root})
    pages[id] = stdout
  }))
writeFileSync(join(root, 'dist', 'help.json'), JSON.stringify(pages) + '\n')
