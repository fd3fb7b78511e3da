// `strata doctor`: each thing strata needs, tried in order, each failure with
// its own cause and fix; the verdict is what `auto` would do for this store
// (docs/design.md, Backends): exit 0 naming the backend when any works. It
// creates no store and records no mapping; its fresh probe replaces the cached one.
import {readFileSync} from 'node:fs'
import type {Home} from '../store/home.js'
import {runtimeDir} from '../store/home.js'
import {type Mapping, idOptions, isIdMap, recordedMapping, resolveMapping} from '../runtime/idmap.js'
import type {Probe} from '../runtime/probe.js'
import {cacheProbe, chooseBackend, forgetProbe} from '../runtime/backends.js'
import type {OpCall} from '../runtime/enter.js'
import type {Backend} from '../stack/stacks.js'
import {asStrataError} from '../errors.js'
import {hostTool, onPath} from '../exec.js'
import {protections, type Protection} from '../runtime/protections.js'

export interface Check {name: string; ok: boolean; detail: string; fix?: string}
export interface Diagnosis {
  checks: Check[]
  mapping: Mapping | null
  mappingRecorded: boolean
  backend: Backend | null
  why: string
  usable: boolean
  probe: Probe | null
  protections?: Protection[]
}


const readNumber = (f: string) => {
  try {
    return Number(readFileSync(f, 'utf8').trim())
  } catch {
    return null
  }
}

/** Why no user namespace could be made, when a sysctl says so; else null (then what unshare said is the cause). */
function namespaceSwitch(): {why: string; fix: string} | null {
  if (readNumber('/proc/sys/user/max_user_namespaces') === 0) return {why: 'user namespaces are disabled (user.max_user_namespaces = 0)', fix: 'sysctl user.max_user_namespaces=15000'}
  if (readNumber('/proc/sys/kernel/unprivileged_userns_clone') === 0) return {why: 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)', fix: 'sysctl kernel.unprivileged_userns_clone=1'}
  if (readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === 1) return {why: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)', fix: 'allow them for strata with an AppArmor profile, or sysctl kernel.apparmor_restrict_unprivileged_userns=0'}
  return null
}

export async function diagnose(home: Home, probeWith: (map?: Mapping) => OpCall<Record<string, never>, Probe>, opts: {refresh?: boolean; map?: string} = {}): Promise<Diagnosis> {
  const checks: Check[] = []
  const verdict = (why: string, probe: Probe | null = null, mapping: Mapping | null = null): Diagnosis => ({checks, mapping, mappingRecorded: recordedMapping(home) !== undefined, backend: null, why, usable: false, probe, protections: protections()})
  // found where strata looks for it: on PATH, else /usr/bin or /bin
  const unshare = hostTool('unshare')
  const found = unshare.startsWith('/')
  checks.push({
    name: 'unshare',
    ok: found,
    detail: !found ? 'unshare is not installed (not on PATH, nor in /usr/bin or /bin)' : onPath('unshare') ? `util-linux unshare is installed (${unshare})` : `util-linux unshare is installed (${unshare}, not on your PATH: strata uses it there)`,
    fix: 'install util-linux',
  })
  if (!found) return verdict('install util-linux (unshare)')

  try {
    checks.push({name: 'runtime directory', ok: true, detail: `${runtimeDir()} is yours and closed to others`})
  } catch (e) {
    const err = asStrataError(e)
    checks.push({name: 'runtime directory', ok: false, detail: err.message, fix: err.hint})
    return verdict('fix the runtime directory')
  }
  if (opts.refresh) forgetProbe(null)

  // the store's own mapping, or what its first writing command would choose here
  let mapping: Mapping
  try {
    const m = resolveMapping(home, opts.map ?? process.env.STRATA_MAP)
    mapping = m.mapping
    const can = idOptions()
    const how =
      m.via === 'newuidmap' ? `0 is you, 1…${m.ids - 1} your subordinate ids (newuidmap): files keep several owners`
      : m.via === 'own-range' ? `0 is you, 1…${m.ids - 1} the ids this user namespace holds (mapped by strata): files keep several owners`
      : `one id, you: files of other owners are squashed to you${isIdMap(can.auto) ? '' : ` (no 'auto' here: ${can.auto.why})`}`
    checks.push({name: 'id mapping', ok: true, detail: `${m.mapping} (${m.record ? (recordedMapping(home) ? `switching from the store's '${recordedMapping(home)}'` : 'a new store would take it') : "the store's own"}): ${how}`})
  } catch (e) {
    const err = asStrataError(e)
    checks.push({name: 'id mapping', ok: false, detail: err.message, fix: err.hint})
    return verdict('no id mapping can be had here')
  }

  let probe: Probe
  try {
    probe = await probeWith(mapping)({})
    checks.push({name: 'user namespace', ok: true, detail: `a user and mount namespace with the '${mapping}' mapping can be made`})
  } catch (e) {
    const err = asStrataError(e)
    const sw = namespaceSwitch()
    checks.push({name: 'user namespace', ok: false, detail: sw ? sw.why : err.message, fix: sw ? sw.fix : err.hint})
    return verdict('no user namespace can be made here', null, mapping)
  }
  checks.push({name: 'store filesystem', ...probe.xattrs})
  checks.push({name: 'overlayfs', ...probe.overlay})
  checks.push({name: 'data-only layers', ...probe.dataOnly, detail: `${probe.dataOnly.detail} (kernel ${probe.kernel})`})
  checks.push({name: 'fuse-overlayfs', ...probe.fuse})
  cacheProbe(home, probe) // fresh: what `auto` will use from now on for this filesystem
  const choice = chooseBackend(probe)
  const d = verdict(choice ? choice.why : `no backend works for a store on ${probe.filesystem.type} here`, probe, mapping)
  // a store needs user xattrs for its layers whatever the backend
  if (!choice || !probe.xattrs.ok) return {...d, why: probe.xattrs.ok ? d.why : `a store can't live on ${probe.filesystem.type} (${probe.filesystem.path}): it keeps no user xattrs`, backend: choice?.backend ?? null}
  return {...d, backend: choice.backend, usable: true}
}
