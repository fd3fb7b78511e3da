// What this machine's kernel does for an unprivileged user, found by trying
// it (never by version numbers): overlayfs in a user namespace, and data-only
// lower layers holding metacopy stubs. Runs inside the namespace.
import {mkdirSync, readFileSync, writeFileSync, truncateSync, existsSync, accessSync, constants} from 'node:fs'
import {join} from 'node:path'
import {release} from 'node:os'
import {spawnSync} from 'node:child_process'
import type {Home} from '../store/home.js'
import {removeTree} from '../store/fsutil.js'
import {stagingDir} from '../store/staging.js'
import {sys} from '../sys.js'
import {METACOPY, REDIRECT, encodeMetacopy, encodeRedirect} from '../format/xattrs.js'
import {overlayOptions} from './overlay-options.js'

export interface Probe {
  kernel: string
  overlay: {ok: boolean; detail: string}
  dataOnly: {ok: boolean; detail: string}
  fuse: {ok: boolean; detail: string}
}

export function probe(home: Home): Probe {
  home.ensure()
  const dir = stagingDir(home.tmp, 'probe')
  try {
    for (const d of ['lower', 'objects/ab', 'upper', 'work', 'merged', 'upper2', 'work2', 'merged2']) mkdirSync(join(dir, d), {recursive: true})
    const data = 'strata probe: data-only lower layer\n'
    const digest = 'ab' + '0'.repeat(62)
    writeFileSync(join(dir, 'objects/ab', digest.slice(2)), data)
    writeFileSync(join(dir, 'lower', 'plain'), 'plain\n')
    const stub = join(dir, 'lower', 'stub')
    writeFileSync(stub, '')
    truncateSync(stub, data.length)
    sys.setxattr(stub, METACOPY, encodeMetacopy(digest))
    sys.setxattr(stub, REDIRECT, encodeRedirect(digest))

    const mount = (opts: string, target: string) => spawnSync('mount', ['-t', 'overlay', '-o', opts, 'strata-probe', target], {cwd: dir, encoding: 'utf8'})
    const said = (r: ReturnType<typeof mount>) => (r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)

    const plain = mount(overlayOptions({lower: ['lower'], upper: 'upper2', work: 'work2'}), 'merged2')
    const overlay = plain.status === 0
      ? {ok: readFileSync(join(dir, 'merged2', 'plain'), 'utf8') === 'plain\n', detail: 'overlayfs mounts in a user namespace (userxattr)'}
      : {ok: false, detail: `overlayfs refused in a user namespace: ${said(plain)}`}

    const full = mount(overlayOptions({lower: ['lower'], dataOnly: ['objects'], upper: 'upper', work: 'work'}), 'merged')
    let dataOnly: Probe['dataOnly']
    if (full.status !== 0) dataOnly = {ok: false, detail: `data-only lower layers refused (Linux ≥ 6.16 needed): ${said(full)}`}
    else {
      let got = ''
      try {
        got = readFileSync(join(dir, 'merged', 'stub'), 'utf8')
      } catch (e) {
        got = `(${(e as Error).message})`
      }
      dataOnly = got === data ? {ok: true, detail: 'metacopy stubs read their data from a data-only lower layer'} : {ok: false, detail: `a stub read back wrong: ${got.slice(0, 60)}`}
    }
    return {kernel: release(), overlay, dataOnly, fuse: fuseCheck()}
  } finally {
    for (const m of ['merged', 'merged2']) spawnSync('umount', [join(dir, m)])
    removeTree(dir)
  }
}

function fuseCheck(): Probe['fuse'] {
  const bin = ['/usr/bin/fuse-overlayfs', '/usr/local/bin/fuse-overlayfs'].find((p) => existsSync(p))
  if (!bin) return {ok: false, detail: 'fuse-overlayfs is not installed (Debian: fuse-overlayfs)'}
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK)
  } catch {
    return {ok: false, detail: '/dev/fuse is not readable and writable for you (its usual mode is 0666)'}
  }
  return {ok: true, detail: `${bin} and /dev/fuse are usable`}
}
