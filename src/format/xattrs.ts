// overlayfs's xattrs in their unprivileged (`userxattr`) namespace, and the
// forms strata writes and reads: metacopy stubs, redirects, whiteouts, opaque dirs.
export const PREFIX = 'user.overlay.'
export const METACOPY = 'user.overlay.metacopy'
export const REDIRECT = 'user.overlay.redirect'
export const OPAQUE = 'user.overlay.opaque'
export const WHITEOUT = 'user.overlay.whiteout'
/** strata's own mark on a directory an archive didn't list (only implied by its children): it takes the metadata of the layers below */
export const IMPLICIT = 'user.strata.implicit'

/** metacopy in digest form: 00 (version) 24 (length) 00 (flags) 01 (SHA-256), then the digest */
export function encodeMetacopy(digestHex: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x24, 0x00, 0x01]), Buffer.from(digestHex, 'hex')])
}

/** The digest a metacopy value carries, or null for the empty form. */
export function decodeMetacopy(v: Buffer): string | null {
  if (v.length === 0) return null
  if (v.length !== 36 || v[1] !== 0x24 || v[3] !== 0x01) throw new Error(`unknown metacopy form (${v.length} bytes)`)
  return v.subarray(4).toString('hex')
}

/**
 * Redirects into the data-only layer are absolute: /ab/cdef… (format 1, and
 * the digest form), or /ab/ plus the first alias hex digits after ab
 * (format 2: a short alias of the object, see native/object.c).
 */
export const encodeRedirect = (digestHex: string, alias = 62) => Buffer.from(`/${digestHex.slice(0, 2)}/${digestHex.slice(2, 2 + alias)}`)

/** The object name a redirect gives, its two directory digits and the rest as one hex string (a full digest, or an alias's name), or null. */
export function decodeRedirect(v: Buffer): string | null {
  const m = /^\/([0-9a-f]{2})\/([0-9a-f]{1,62})$/.exec(v.toString('latin1'))
  return m ? m[1] + m[2] : null
}

/** An object's name (a digest, or an alias's "ab…" hex) as a path under objects/: ab/cdef… */
export const objectRel = (name: string) => `${name.slice(0, 2)}/${name.slice(2)}`

/** A file's own user.overlay.* xattrs are kept escaped (user.overlay.overlay.*), as overlayfs expects. */
export const escapeName = (name: string) => (name.startsWith(PREFIX) ? PREFIX + 'overlay.' + name.slice(PREFIX.length) : name)
/** The inverse of escapeName: a file's own xattr name as the merged view shows it. */
export const unescapeName = (name: string) => (name.startsWith(PREFIX + 'overlay.') ? PREFIX + name.slice(PREFIX.length + 8) : name)
export const isUserXattr = (name: string) => name.startsWith('user.')
/** Xattrs that carry overlay structure rather than a file's own attributes. */
export const isStructural = (name: string) => name.startsWith(PREFIX) && !name.startsWith(PREFIX + 'overlay.')

/**
 * fuse-overlayfs's forms, which an upper it wrote may hold: a whiteout as an
 * empty `.wh.NAME` file (where it can't mknod), an opaque directory by a
 * `.wh..wh..opq` file inside or its own xattr; its other xattrs are private.
 * As in OCI layers, names starting `.wh.` are reserved.
 */
export const WH_PREFIX = '.wh.'
export const WH_OPAQUE = '.wh..wh..opq'
export const FUSE_PREFIX = 'user.fuseoverlayfs.'
export const FUSE_OPAQUE = 'user.fuseoverlayfs.opaque'
