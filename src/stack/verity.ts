// Kernel-checked content for a stack (`stack create --verity`; docs/design.md,
// The digest form): the kernel backend mounts it with overlayfs's
// `verity=require`, so that reading a file through a stub checks its object's
// fs-verity digest against the one the stub carries. That needs three things
// strata can't make true by itself, checked here before the stack is made:
// stubs that carry the digest (layers imported with --stubs digest; short
// stubs carry none), fs-verity enabled on every object they name (done here,
// with fsverity-utils' `fsverity enable`, by the FS_IOC_ENABLE_VERITY ioctl),
// and a kernel and filesystem that support it (tried on a probe file first).
import {spawnSync} from 'node:child_process'
import {unlinkSync, writeFileSync} from 'node:fs'
import type {Home} from '../store/home.js'
import type {LayerStore} from '../layer/layers.js'
import {ObjectStore} from '../store/objects.js'
import {environment, usage} from '../errors.js'
import {hostTool} from '../exec.js'
import {stagingName} from '../store/fsutil.js'

/** The fsverity tool's verdict on one file: done (or was already), or why not. */
function enable(path: string): {ok: true} | {ok: false; why: string; unsupported: boolean} {
  const r = spawnSync(hostTool('fsverity'), ['enable', path], {encoding: 'utf8'})
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code
    throw environment(
      `--verity needs the fsverity tool to enable fs-verity on the store's objects, and it could not be run (${code})`,
      'install fsverity-utils (Debian and Ubuntu: apt install fsverity), or create the stack without --verity',
    )
  }
  if (r.status === 0 || /File exists|already/i.test(r.stderr)) return {ok: true}
  // fsverity says "ERROR: FS_IOC_ENABLE_VERITY failed on 'PATH': Operation not supported": the errno's words
  const last = r.stderr.trim().split('\n').pop() ?? ''
  const why = /failed on '.*': (.+)$/.exec(last)?.[1] ?? (last.replace(/^ERROR: /, '') || `exit ${r.status}`)
  return {ok: false, why, unsupported: /not supported|Inappropriate ioctl|not implemented/i.test(why)}
}

/**
 * Makes a stack of these layers checkable by the kernel, or refuses: a
 * layer of short stubs (exit 2), no fs-verity here (exit 5, naming the
 * cause and the fix). On success every object the layers name has fs-verity
 * enabled (which makes nothing slower to read; it can't be undone, and the
 * objects were read-only already).
 */
export function prepareVerity(home: Home, layers: LayerStore, ids: string[], backend: string) {
  if (backend !== 'kernel')
    throw usage(`--verity needs the kernel backend (overlayfs reading objects as data-only layers), not ${backend}`, 'pass --backend kernel where it works (see `strata doctor`), or create the stack without --verity')
  const digests = new Set<string>()
  for (const id of ids) {
    for (const e of layers.entries(id)) {
      if (e.type !== 'stub' || !e.digest) continue
      if (e.object !== e.digest)
        throw usage(
          `layer ${id.slice(0, 12)} has short stubs (store format 2), which carry no digest for the kernel to check`,
          'remove the layer and import it again with --stubs digest (a layer keeps the form it was first imported in), or create the stack without --verity',
        )
      digests.add(e.digest)
    }
  }
  // the kernel and the store's filesystem, tried on a file of our own first (objects are shared)
  const probe = stagingName(home.tmp, 'verity-probe')
  writeFileSync(probe, 'strata verity probe\n', {mode: 0o600})
  let tried
  try {
    tried = enable(probe)
  } finally {
    unlinkSync(probe)
  }
  if (!tried.ok)
    throw environment(
      tried.unsupported
        ? `fs-verity is not available for the store at ${home.root} (FS_IOC_ENABLE_VERITY: ${tried.why}): the kernel is built without CONFIG_FS_VERITY, or its filesystem has no verity feature`
        : `fs-verity could not be enabled on a file of the store at ${home.root}: ${tried.why}`,
      'use a kernel with CONFIG_FS_VERITY=y and a filesystem with fs-verity (ext4 made or tuned with -O verity, btrfs, f2fs), or create the stack without --verity',
    )
  const objects = new ObjectStore(home.objects, home.tmp)
  for (const d of digests) {
    const r = enable(objects.path(d))
    if (!r.ok) throw environment(`fs-verity could not be enabled on object ${d.slice(0, 12)} (objects/${d.slice(0, 2)}/${d.slice(2)}): ${r.why}`, 'run `strata check` to see whether the object is whole, or create the stack without --verity')
  }
}

/** The overlay mount options a stack's verity choice adds (none for a stack made without --verity). */
export const verityOptions = (verity: string | undefined): string[] => (verity === 'require' ? ['verity=require'] : [])
