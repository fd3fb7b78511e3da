// Why the kernel refused an overlay mount, told from the situation itself:
// an unprivileged user can't read the kernel's reason (dmesg_restrict), and
// mount(8) only says "dmesg(1) may have more information". The known causes:
// an upper on overlayfs, on NFS (the kernel demands of a remote upper d_type,
// RENAME_WHITEOUT and xattrs, and NFS has no RENAME_WHITEOUT: "upper fs
// missing required features"), or on a filesystem without xattrs; lowers that
// are themselves overlays (the kernel's stacking depth). A lower on NFS is no
// refusal of the kernel's by itself, and strata's lowers sit beside the upper.
// One cause the kernel does not refuse (it only warns in dmesg): an upper on a
// filesystem without d_type, where overlayfs mounts but can't see whiteouts;
// the probe finds that by deleting a file (noDtype).
import {mkdtempSync, rmSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {filesystemOf} from '../fstype.js'
import {sys} from '../sys.js'

export interface Refusal {why: string; fix: string}

const MOVE = 'put STRATA_HOME on a volume or another filesystem (ext4, xfs, btrfs), or use `--backend fuse`'

/** What overlayRefusal asks of the directories: their filesystem's name, whether it keeps user xattrs. */
export interface Look {
  fsType(path: string): string
  keepsUserXattrs(dir: string): boolean
}

const machine: Look = {fsType: (p) => filesystemOf(p).type, keepsUserXattrs}

/** The first known cause that fits these directories (relative to cwd), or null. */
export function overlayRefusal(cwd: string, lowers: string[], upper: string, store = cwd, look: Look = machine): Refusal | null {
  const up = resolve(cwd, upper)
  let upperFs: string
  try {
    upperFs = look.fsType(up)
  } catch {
    return null
  }
  if (upperFs === 'overlayfs')
    return {why: `the store is on an overlayfs (${store}), and the kernel refuses an overlayfs as upperdir (a container's root filesystem is one)`, fix: MOVE}
  if (upperFs === 'nfs')
    return {why: `the store is on NFS (${store}), and the kernel refuses a network filesystem as upperdir unless it has d_type, RENAME_WHITEOUT and xattrs (NFS has no RENAME_WHITEOUT)`, fix: 'put STRATA_HOME on a local filesystem (ext4, xfs, btrfs, tmpfs), or use `--backend fuse`'}
  if (!look.keepsUserXattrs(up)) return {why: `the store's filesystem (${upperFs}) does not keep user xattrs, which an upperdir needs with userxattr`, fix: MOVE}
  for (const l of lowers) {
    if (look.fsType(resolve(cwd, l)) === 'overlayfs') return {why: `a lower layer is itself on an overlayfs (under ${store}): nesting overlays beyond the kernel's stacking depth is refused`, fix: MOVE}
  }
  return null
}

/**
 * An upper on a filesystem whose directory listings carry no file type
 * (d_type is DT_UNKNOWN: ext4 made with `-O ^filetype`, xfs with ftype=0):
 * overlayfs finds whiteouts by their type, so deleted files are listed again
 * and directories that held them can't be removed. Linux mounts it anyway.
 */
export function noDtype(fsType: string, store: string): Refusal {
  return {
    why: `the store's filesystem (${fsType} at ${store}) gives no file types in directory listings (no d_type: made by \`mkfs.ext4 -O ^filetype\` or \`mkfs.xfs -n ftype=0\`), so overlayfs can't see its whiteouts: deleted files would be listed again and directories that held them couldn't be removed`,
    fix: 'put STRATA_HOME on a filesystem with d_type (ext4 or xfs as mkfs makes them, btrfs, tmpfs), or use `--backend fuse`',
  }
}

function keepsUserXattrs(dir: string): boolean {
  let d: string | undefined
  try {
    d = mkdtempSync(join(dir, '.xattr-'))
    sys.setxattr(d, 'user.strata.probe', Buffer.from('1'))
    return true
  } catch {
    return false
  } finally {
    if (d) rmSync(d, {recursive: true, force: true})
  }
}
