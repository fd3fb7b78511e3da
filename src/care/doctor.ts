// `strata doctor`: each thing strata needs, tried, with the fix for what fails.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {userInfo} from 'node:os'
import type {Home} from '../store/home.js'
import {detectMapping, subordinateRange} from '../runtime/idmap.js'
import type {Probe} from '../runtime/probe.js'
import type {OpCall} from '../runtime/enter.js'
import {asStrataError} from '../errors.js'
import {protections, type Protection} from '../runtime/protections.js'

export interface Check {name: string; ok: boolean; detail: string; fix?: string}
export interface Diagnosis {checks: Check[]; mapping: 'auto' | 'single'; backend: 'kernel' | null; usable: boolean; probe: Probe | null; protections?: Protection[]}


export async function diagnose(home: Home, ops: {probe: OpCall<Record<string, never>, Probe>}): Promise<Diagnosis> {
  const checks: Check[] = []
  const has = (bin: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)))
  checks.push({name: 'unshare', ok: has('unshare'), detail: has('unshare') ? 'util-linux unshare is installed' : 'unshare is missing', fix: 'install util-linux'})
  const sub = subordinateRange('/etc/subuid')
  const mapping = detectMapping()
  checks.push({
    name: 'id mapping',
    ok: true,
    detail: mapping === 'auto' ? `subordinate ids ${sub!.start}…${sub!.start + sub!.count - 1} via newuidmap: files keep several owners` : `no subordinate range for ${userInfo().username} (or no newuidmap): one id, foreign owners squashed to you`,
  })
  if (!existsSync('/usr/bin/newuidmap')) checks.push({name: 'newuidmap', ok: false, detail: 'newuidmap/newgidmap are missing', fix: 'install uidmap'})
  let probe: Probe | null = null
  try {
    probe = await ops.probe({})
    checks.push({name: 'user namespace', ok: true, detail: 'a user and mount namespace can be created'})
    checks.push({name: 'overlayfs', ok: probe.overlay.ok, detail: probe.overlay.detail, fix: 'a kernel with overlayfs allowed in user namespaces (Linux ≥ 5.11), outside a seccomp filter that forbids mount'})
    checks.push({name: 'data-only layers', ok: probe.dataOnly.ok, detail: `${probe.dataOnly.detail} (kernel ${probe.kernel})`, fix: 'Linux ≥ 6.16'})
    checks.push({name: 'fuse-overlayfs', ok: probe.fuse.ok, detail: probe.fuse.detail, fix: 'apt install fuse-overlayfs; chmod 0666 /dev/fuse'})
  } catch (e) {
    checks.push({name: 'user namespace', ok: false, detail: asStrataError(e).message, fix: 'enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)'})
  }
  const usable = !!probe?.overlay.ok && !!probe?.dataOnly.ok
  // root sessions (sandbox engine): which protections this machine enforces
  return {checks, mapping, backend: usable ? 'kernel' : null, usable, probe, protections: protections()}
}
