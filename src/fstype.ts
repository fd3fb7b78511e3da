// Which filesystem a path is on (statfs's magic number, named), and the
// nearest existing directory of a path not made yet: what the store's
// filesystem will be. What the kernel lets overlayfs do depends on it.
import {existsSync, statfsSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

const NAMES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x858458f6: 'ramfs',
  0x794c7630: 'overlayfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
  0xff534d42: 'cifs',
  0xfe534d42: 'smb2',
  0x01021997: '9p',
  0x4d44: 'vfat',
  0x73717368: 'squashfs',
  0xf15f: 'ecryptfs',
  0x5346414f: 'afs',
  0x2011bab0: 'exfat',
}

export function fsTypeName(magic: number): string {
  return NAMES[magic] ?? `0x${magic.toString(16)}`
}

/** The directory itself if it exists, else its nearest existing parent. */
export function existingDir(path: string): string {
  let p = resolve(path)
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p)
  return p
}

/** The filesystem of a path (or of where it would be made): its name and device. */
export function filesystemOf(path: string): {type: string; dev: number} {
  const p = existingDir(path)
  return {type: fsTypeName(Number(statfsSync(p).type)), dev: statSync(p).dev}
}
