// A stub: a sparse file of its content's size whose overlay xattrs redirect
// to the object holding that content. Apart from TreeWriter, so that the
// workers making stubs by the thousand load this and little else.
import {sys} from '../sys.js'
import {METACOPY, REDIRECT, encodeMetacopy, encodeRedirect, escapeName} from './xattrs.js'
import type {Applied, Meta} from './entry.js'

/** A sparse stub of size bytes redirecting to the object named digest, with meta applied (one descriptor: see sys.createFile). */
export function writeStub(p: Buffer, meta: Meta, digest: string, size: number): Applied {
  const xattrs: [string, Buffer][] = [[METACOPY, encodeMetacopy(digest)], [REDIRECT, encodeRedirect(digest)]]
  for (const [name, value] of meta.xattrs ?? []) xattrs.push([escapeName(name), value])
  return appliedOf(meta, sys.createFile(p, size, meta.uid, meta.gid, meta.mode, meta.atimeNs ?? meta.mtimeNs, meta.mtimeNs, xattrs))
}

/** What a stub got of meta's owner: an owner outside the mapping is squashed to 0:0. */
export const appliedOf = (meta: Meta, squashed: boolean): Applied => ({ids: squashed ? [0, 0] : [meta.uid, meta.gid], squashed})
