// A stub: a sparse file of its content's size whose overlay xattrs redirect
// to the object holding that content. Apart from TreeWriter, so that the
// workers making stubs by the thousand load this and little else.
//
// Two forms (docs/design.md, On-disk layout): format 2's short stub, an
// empty metacopy and a redirect to the object's short alias (/ab/ + 20 hex
// digits: it fits an ext4 inode beside the metacopy), and the digest form
// (format 1's), the 36-byte metacopy with the fs-verity digest and the full
// name as redirect, which a kernel mounting with verity= can check objects
// against, at the cost of an xattr block per stub on ext4.
import {sys} from '../sys.js'
import {METACOPY, REDIRECT, encodeMetacopy, encodeRedirect, escapeName} from './xattrs.js'
import type {Applied, Meta} from './entry.js'

/** The hex digits after objects/ab/ that a new object's alias has: /ab/ + 20 is the 24-byte redirect that stays in a 256-byte ext4 inode. */
export const ALIAS_HEX = 20
/** An object's full name, as an alias length: the redirect names the object itself. */
export const FULL_NAME = 62

export type StubForm = 'short' | 'digest'

/**
 * The alias length new objects ask for: ALIAS_HEX, or what
 * STRATA_TEST_ALIAS_HEX says (tests shorten it so that objects share
 * prefixes and collisions happen; never meant for a real store).
 */
export function aliasHex(form: StubForm = 'short'): number {
  if (form === 'digest') return 0
  const forced = Number(process.env.STRATA_TEST_ALIAS_HEX)
  return Number.isInteger(forced) && forced >= 1 && forced <= FULL_NAME ? forced : ALIAS_HEX
}

/** The stub's overlay xattrs: alias 0 is the digest form, else an empty metacopy and a redirect to the alias of that length. */
export function stubXattrs(digest: string, alias: number): [string, Buffer][] {
  if (alias === 0) return [[METACOPY, encodeMetacopy(digest)], [REDIRECT, encodeRedirect(digest)]]
  return [[METACOPY, Buffer.alloc(0)], [REDIRECT, encodeRedirect(digest, alias)]]
}

/** A sparse stub of size bytes redirecting to the object named digest (by its alias of that length; 0: the digest form), with meta applied (one descriptor: see sys.createFile). */
export function writeStub(p: Buffer, meta: Meta, digest: string, size: number, alias: number): Applied {
  const xattrs = stubXattrs(digest, alias)
  for (const [name, value] of meta.xattrs ?? []) xattrs.push([escapeName(name), value])
  return appliedOf(meta, sys.createFile(p, size, meta.uid, meta.gid, meta.mode, meta.atimeNs ?? meta.mtimeNs, meta.mtimeNs, xattrs))
}

/** What a stub got of meta's owner: an owner outside the mapping is squashed to 0:0. */
export const appliedOf = (meta: Meta, squashed: boolean): Applied => ({ids: squashed ? [0, 0] : [meta.uid, meta.gid], squashed})
