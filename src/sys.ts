// Syscalls node's fs lacks (native/sys.c): byte paths, no symlink following,
// nanosecond times, mknod, syncfs, flock, reap (for a namespace's pid 1), and
// exchange (renameat2 RENAME_EXCHANGE);
// fs-verity's block hashing, the stubs' one-descriptor creation, and an
// import's walk, a directory per call.
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {packageRoot} from './root.js'

export type BytePath = Buffer | string

/**
 * One entry of a directory, as sys.scanDir reads it: its lstat, its user.*
 * xattrs (files and directories only; null when none) and a symlink's
 * target. ident is what lstat says as text, "dev:ino mode uid:gid size nlink
 * rdev mtimeNs ctimeNs"; its first word names the inode.
 */
export type ScannedEntry = [
  name: Buffer,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  nlink: number,
  rdev: number,
  atimeNs: bigint,
  mtimeNs: bigint,
  ident: string,
  xattrs: [string, Buffer][] | null,
  target: Buffer | null,
]

interface Sys {
  getxattr(path: BytePath, name: string): Buffer | null
  listxattr(path: BytePath): string[]
  setxattr(path: BytePath, name: string, value: Buffer): void
  removexattr(path: BytePath, name: string): void
  utimens(path: BytePath, atimeNs: bigint, mtimeNs: bigint): void
  mknod(path: BytePath, mode: number, major: number, minor: number): void
  syncfs(path: BytePath): void
  /** flock(2); false when the lock is held elsewhere and wait is false */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean
  /** renameat2(a, b, RENAME_EXCHANGE): swaps two existing paths in one atomic step (EINVAL where the filesystem can't) */
  exchange(a: BytePath, b: BytePath): void
  /** waitpid(-1, WNOHANG) until none is left: how many ended. Only for a pid 1 that spawns nothing else meanwhile. */
  reap(): number
  /** out[32*i..] = SHA-256 of data's 4 KiB block i (data: whole blocks) */
  hashBlocks(data: Buffer, out: Buffer): void
  /** reads src once for its fs-verity digest; with tmpDir and objectsDir, stores it meanwhile as objects/ab/cdef… (never replacing), and with aliasMin > 0 makes its short alias (alias: its length; see objectAlias): [digestHex, size, stored, alias] */
  storeFile(src: BytePath, tmpDir: string | null, objectsDir: string | null, aliasMin?: number): [digest: string, size: number, stored: boolean, alias: number]
  /** the short alias of an object the store has, a hardlink objects/ab/<the next n hex digits>, n >= aliasMin, made when missing; a name another object holds is passed over for a longer one: n (62: only the full name) */
  objectAlias(objectsDir: string, digestHex: string, aliasMin: number): number
  /** storeFile's streaming form: an unnamed file in tmpDir to write content into */
  objectOpen(tmpDir: string): object
  objectWrite(writer: object, data: Buffer): void
  /** names the content in objectsDir (never replacing), closing the writer */
  objectFinish(writer: object, objectsDir: string, aliasMin?: number): [digest: string, size: number, stored: boolean, alias: number]
  objectAbort(writer: object): void
  /** copies src into a new file dst (0600, never replacing), whole zero blocks left as holes */
  copySparse(src: BytePath, dst: BytePath): void
  /** a new file (never replacing, never following a symlink) with size, xattrs, owner, mode and times, through one descriptor; true when the owner was outside the mapping and squashed to 0:0 */
  createFile(path: BytePath, size: number, uid: number, gid: number, mode: number, atimeNs: bigint, mtimeNs: bigint, xattrs: [string, Buffer][]): boolean
  /** a directory's entries (not . and ..) in its own order, one call for all: see ScannedEntry. Errors name the path in path. */
  scanDir(dir: BytePath): ScannedEntry[]
  /** the entry at path itself, as scanDir gives entries (its name: path as given): a walk's root */
  scanEntry(path: BytePath): ScannedEntry
}


// Every method, named once so that the compiler sees none is missing.
const METHODS: Record<keyof Sys, true> = {
  getxattr: true, listxattr: true, setxattr: true, removexattr: true, utimens: true, mknod: true, syncfs: true, flock: true,
  exchange: true, reap: true, hashBlocks: true, storeFile: true, objectAlias: true, objectOpen: true, objectWrite: true,
  objectFinish: true, objectAbort: true, copySparse: true, createFile: true, scanDir: true, scanEntry: true,
}

/**
 * The addon, loaded at the first call of any method (choosing it and loading it
 * costs a command that never calls it, a listing, a tenth of its start-up):
 * the prebuild for this platform while it matches native/, else build/Release
 * (scripts/native.cjs). The first call puts the addon's own functions in place,
 * so later calls go straight to them.
 */
export const sys = {} as Sys
const names = Object.keys(METHODS) as (keyof Sys)[]
for (const name of names) {
  sys[name] = ((...args: unknown[]) => {
    const addon: Sys = createRequire(import.meta.url)(join(packageRoot, 'scripts', 'native.cjs')).load('strata_sys')
    for (const n of names) sys[n] = addon[n] as never
    return (sys[name] as (...a: unknown[]) => unknown)(...args)
  }) as never
}
