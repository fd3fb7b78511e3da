// What this machine does for an unprivileged user, on the filesystem of the
// store, found by trying it (never by version numbers): user xattrs there,
// overlayfs in a user namespace, data-only lower layers holding metacopy
// stubs, fuse-overlayfs. Runs inside the namespace (reaching it proves the
// namespace and its mapping work), in a scratch directory beside the store:
// the store itself is not made by a probe. Each step names its own cause and fix.
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, unlinkSync, writeFileSync, truncateSync, existsSync, accessSync, constants} from 'node:fs'
import {join} from 'node:path'
import {release} from 'node:os'
import {spawnSync} from 'node:child_process'
import type {Home} from '../store/home.js'
import {removeTree} from '../store/fsutil.js'
import {existingDir, filesystemOf} from '../fstype.js'
import {sys} from '../sys.js'
import {METACOPY, REDIRECT, encodeMetacopy, encodeRedirect} from '../format/xattrs.js'
import {overlayOptions} from './overlay-options.js'
import {noDtype, overlayRefusal} from './overlay-causes.js'

export interface ProbeStep {
  ok: boolean
  detail: string
  fix?: string
  /** overlayfs mounts but would show deleted files (the store's filesystem has no d_type): the kernel backends are refused */
  cause?: 'no-d_type'
}

export interface Probe {
  kernel: string
  /** the store's filesystem (or where it will be made) */
  filesystem: {type: string; path: string}
  xattrs: ProbeStep
  overlay: ProbeStep
  dataOnly: ProbeStep
  fuse: ProbeStep
}

const XATTR_FIX = 'put STRATA_HOME on a filesystem with user xattrs (ext4, xfs, btrfs, tmpfs on Linux ≥ 6.6)'

export function probe(home: Home): Probe {
  const parent = existsSync(home.root) ? home.root : existingDir(home.root)
  const fs = filesystemOf(parent)
  const base = existsSync(home.tmp) ? home.tmp : parent
  let dir: string
  try {
    dir = mkdtempSync(join(base, '.strata-probe-'))
  } catch (e) {
    const why = `cannot write in ${base} (${(e as NodeJS.ErrnoException).code})`
    const no = {ok: false, detail: why, fix: 'make STRATA_HOME a directory you can write'}
    return {kernel: release(), filesystem: {type: fs.type, path: parent}, xattrs: no, overlay: no, dataOnly: no, fuse: fuseCheck()}
  }
  const mounted: string[] = []
  try {
    for (const d of ['lower', 'objects/ab', 'upper', 'work', 'merged', 'upper2', 'work2', 'merged2', 'upper3', 'work3', 'merged3']) mkdirSync(join(dir, d), {recursive: true})
    const data = 'strata probe: data-only lower layer\n'
    const digest = 'ab' + '0'.repeat(62)
    writeFileSync(join(dir, 'objects/ab', digest.slice(2)), data)
    writeFileSync(join(dir, 'lower', 'plain'), 'plain\n')
    writeFileSync(join(dir, 'lower', 'deleted'), 'deleted\n')
    const stub = join(dir, 'lower', 'stub')
    writeFileSync(stub, '')
    truncateSync(stub, data.length)

    let xattrs: ProbeStep
    try {
      sys.setxattr(stub, METACOPY, encodeMetacopy(digest))
      sys.setxattr(stub, REDIRECT, encodeRedirect(digest))
      xattrs = {ok: true, detail: `${fs.type} at ${parent} keeps user xattrs`}
    } catch (e) {
      xattrs = {ok: false, detail: `${fs.type} at ${parent} does not keep user xattrs (${(e as NodeJS.ErrnoException).code}): layers' stubs, owners and whiteouts can't be stored there`, fix: XATTR_FIX}
    }

    const mount = (opts: string, target: string) => spawnSync('mount', ['-t', 'overlay', '-o', opts, 'strata-probe', target], {cwd: dir, encoding: 'utf8'})
    const said = (r: ReturnType<typeof mount>) => r.error?.message ?? r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`

    const plain = mount(overlayOptions({lower: ['lower'], upper: 'upper2', work: 'work2'}), 'merged2')
    let overlay: ProbeStep
    if (plain.status === 0) {
      mounted.push('merged2')
      if (readFileSync(join(dir, 'merged2', 'plain'), 'utf8') !== 'plain\n') overlay = {ok: false, detail: 'overlayfs mounted but read back wrong', fix: 'report it'}
      else {
        // a deleted file must be gone from the listing: without d_type on the upper's filesystem the kernel mounts, but lists its whiteouts
        let unlinked: string | null = null
        try {
          unlinkSync(join(dir, 'merged2', 'deleted'))
        } catch (e) {
          unlinked = (e as NodeJS.ErrnoException).code ?? 'failed'
        }
        if (unlinked) overlay = {ok: false, detail: `overlayfs mounted, but a file could not be deleted through it (${unlinked})`, fix: 'use `--backend fuse`, or put STRATA_HOME on another filesystem'}
        else if (readdirSync(join(dir, 'merged2')).includes('deleted')) {
          const cause = noDtype(fs.type, parent)
          overlay = {ok: false, detail: `overlayfs mounts, but ${cause.why}`, fix: cause.fix, cause: 'no-d_type'}
        } else overlay = {ok: true, detail: 'overlayfs mounts in a user namespace (userxattr)'}
      }
    } else {
      const cause = overlayRefusal(dir, ['lower'], 'upper2', parent)
      overlay = {ok: false, detail: `the kernel refused overlayfs in a user namespace: ${cause?.why ?? said(plain)}`, fix: cause?.fix ?? 'a kernel that allows overlayfs in user namespaces (Linux ≥ 5.11), outside a seccomp filter that forbids mount; or --backend fuse'}
    }

    let dataOnly: ProbeStep
    if (!xattrs.ok) dataOnly = {ok: false, detail: 'not tried: data-only layers need stubs, which need user xattrs on the store\'s filesystem', fix: XATTR_FIX}
    else if (!overlay.ok) dataOnly = {ok: false, detail: "not tried: overlayfs itself doesn't work here", fix: overlay.fix}
    else {
      const full = mount(overlayOptions({lower: ['lower'], dataOnly: ['objects'], upper: 'upper', work: 'work'}), 'merged')
      if (full.status !== 0) dataOnly = {ok: false, detail: `data-only lower layers refused: ${said(full)}`, fix: 'Linux ≥ 6.16; meanwhile kernel-flat works'}
      else {
        mounted.push('merged')
        let got = ''
        try {
          got = readFileSync(join(dir, 'merged', 'stub'), 'utf8')
        } catch (e) {
          got = `(${(e as Error).message})`
        }
        dataOnly = got === data ? {ok: true, detail: 'metacopy stubs read their data from a data-only lower layer'} : {ok: false, detail: `a stub read back wrong: ${got.slice(0, 60)}`, fix: 'Linux ≥ 6.16'}
      }
    }

    let fuse = fuseCheck()
    if (fuse.ok) {
      const r = spawnSync('fuse-overlayfs', ['-o', 'lowerdir=lower,upperdir=upper3,workdir=work3', 'merged3'], {cwd: dir, encoding: 'utf8'})
      if (r.status === 0) {
        mounted.push('merged3')
        let got = ''
        try {
          got = readFileSync(join(dir, 'merged3', 'plain'), 'utf8')
        } catch {}
        if (got !== 'plain\n') fuse = {ok: false, detail: 'fuse-overlayfs mounted but read back wrong', fix: 'apt install fuse-overlayfs (a current one)'}
      } else fuse = {ok: false, detail: `fuse-overlayfs could not mount here: ${r.error?.message ?? r.stderr.trim().split('\n')[0]}`, fix: 'allow FUSE in this user namespace (/dev/fuse 0666, no seccomp filter on mount), or put STRATA_HOME on another filesystem'}
    }
    return {kernel: release(), filesystem: {type: fs.type, path: parent}, xattrs, overlay, dataOnly, fuse}
  } finally {
    for (const m of mounted) spawnSync('umount', [join(dir, m)])
    removeTree(dir)
  }
}

function fuseCheck(): ProbeStep {
  const bin = ['/usr/bin/fuse-overlayfs', '/usr/local/bin/fuse-overlayfs'].find((p) => existsSync(p))
  if (!bin) return {ok: false, detail: 'fuse-overlayfs is not installed', fix: 'install fuse-overlayfs (Debian: apt install fuse-overlayfs)'}
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK)
  } catch {
    return {ok: false, detail: '/dev/fuse is not readable and writable for you', fix: 'chmod 0666 /dev/fuse (its usual mode), or pass /dev/fuse into the container'}
  }
  return {ok: true, detail: `${bin} mounts over a tree in a user namespace`}
}
