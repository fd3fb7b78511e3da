// How the store's files map to ids (docs/design.md, Id mapping). A store is
// `auto` (0 → the user, 1…N → more ids, so files keep several owners) or
// `single` (one id: foreign owners are squashed to the user). Where the ids of
// `auto` come from depends on where strata runs: the user's subordinate range
// through newuidmap (a host, the podman setup), or, for root of a user
// namespace that holds a range itself (a rootless container, `unshare
// --map-root-user --map-auto`), that range, written by strata. The mapping is
// chosen by the first command that writes the store, recorded only once it
// worked, and held to; one that never held a foreign owner may switch.
import {existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {readStoreFile, writeStoreFile} from '../store/store-file.js'
import {userInfo} from 'node:os'
import type {Home} from '../store/home.js'
import {environment, usage} from '../errors.js'

export type Mapping = 'auto' | 'single'

/** Where a namespace's ids come from: newuidmap and /etc/subuid, the range our own namespace holds (written by us), or our one id. */
export type Via = 'newuidmap' | 'own-range' | 'own-id'

export interface IdMap {
  mapping: Mapping
  via: Via
  /** how many ids the namespace has (0 is the user) */
  ids: number
}

export interface Range {start: number; count: number}

/** The first range /etc/subuid (or subgid) gives this user, by name or id. */
export function subordinateRange(file: string, name = userName(), id = process.getuid!()): Range | null {
  if (!existsSync(file)) return null
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [who, start, count] = line.trim().split(':')
    if ((who === name || who === String(id)) && Number(count) > 0) return {start: Number(start), count: Number(count)}
  }
  return null
}

function userName(): string {
  try {
    return userInfo().username
  } catch {
    return String(process.getuid!()) // an id without a passwd entry (bwrap, containers)
  }
}

/** What can't be had here, and the fix. */
export interface Refusal {why: string; fix: string}

/** What this process can map, found from /proc and /etc (never by trying a setuid helper blindly). */
export interface IdOptions {auto: IdMap | Refusal; single: IdMap | Refusal}

const CAP_SETGID = 6n
const CAP_SETUID = 7n
const CAP_SETFCAP = 31n

function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? BigInt('0x' + m[1]) : 0n
}
const has = (caps: bigint, cap: bigint) => (caps >> cap) & 1n

/** Ids 0…n-1 mapped in our own namespace, counted from 0 without a gap (from /proc/self/uid_map or gid_map). */
function contiguousFromZero(file: string): number {
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter((l) => l.length === 3)
  lines.sort((a, b) => a[0] - b[0])
  let n = 0
  for (const [inside, , count] of lines) if (inside === n) n += count
  return n
}

export const inInitialUserNamespace = () => /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'))

let options: IdOptions | undefined
/** What this process can map: memoized, it does not change while we run. */
export function idOptions(): IdOptions {
  if (options) return options
  const uid = process.getuid!()
  const caps = effectiveCaps()
  const initial = inInitialUserNamespace()
  // setuid newuidmap takes effect only where the file's owner, root, is mapped:
  // in a namespace that doesn't map it (bubblewrap, toolbox, rootless podman) it runs as us and fails with EPERM
  let newuidmap: Refusal | null = null
  const sub = subordinateRange('/etc/subuid')
  const subg = subordinateRange('/etc/subgid', undefined, process.getgid!())
  if (!existsSync('/usr/bin/newuidmap') || !existsSync('/usr/bin/newgidmap')) newuidmap = {why: 'newuidmap/newgidmap are not installed', fix: 'install uidmap'}
  else if (!sub || !subg) newuidmap = {why: `${userName()} has no subordinate id range in /etc/subuid and /etc/subgid`, fix: `add one (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${userName()})`}
  else {
    const st = statSync('/usr/bin/newuidmap')
    const setuid = st.uid === 0 && (st.mode & 0o4000) !== 0
    if (!setuid && !(has(caps, CAP_SETUID) && has(caps, CAP_SETGID)))
      newuidmap = {
        why: `newuidmap can't work in this user namespace (${st.uid === 0 ? 'it is not setuid root' : 'root is not mapped here, so its setuid bit has no effect'})`,
        fix: 'run strata outside the sandbox, or use the single-id mapping (--map single)',
      }
  }
  let auto: IdMap | Refusal
  const ownIds = Math.min(contiguousFromZero('/proc/self/uid_map'), contiguousFromZero('/proc/self/gid_map'))
  if (!initial && uid === 0 && ownIds > 1 && has(caps, CAP_SETUID) && has(caps, CAP_SETGID) && has(caps, CAP_SETFCAP)) auto = {mapping: 'auto', via: 'own-range', ids: ownIds}
  else if (!newuidmap) auto = {mapping: 'auto', via: 'newuidmap', ids: 1 + sub!.count}
  else auto = newuidmap
  // mapping root of a nested namespace onto our id 0 needs CAP_SETFCAP (Linux ≥ 5.12): `bwrap --uid 0` drops it
  const single: IdMap | Refusal =
    !initial && uid === 0 && !has(caps, CAP_SETFCAP)
      ? {why: 'strata runs as uid 0 of a user namespace without CAP_SETFCAP, so no nested namespace can map root, not even one id', fix: 'run strata as your own uid in the sandbox (bwrap without --uid 0), or give it CAP_SETFCAP (bwrap --cap-add CAP_SETFCAP)'}
      : {mapping: 'single', via: 'own-id', ids: 1}
  return (options = {auto, single})
}

export const isIdMap = (x: IdMap | Refusal): x is IdMap => 'mapping' in x

/** The mapping a new store gets here: auto where it can be had, else single. */
export function detectMapping(): Mapping {
  return isIdMap(idOptions().auto) ? 'auto' : 'single'
}


export function recordedMapping(home: Home): Mapping | undefined {
  return readStoreFile(home)?.mapping as Mapping | undefined
}

/** What resolveMapping decided: the mapping, how this machine gets its ids, and whether the store must record it once it worked. */
export interface Resolved extends IdMap {
  /** record it in store.json after the command's work succeeded (a new store, or a switch) */
  record: boolean
  /** said once, on stderr, by the command that records it */
  note?: string
}

function refuse(m: Mapping, r: Refusal, store?: string) {
  return environment(`the '${m}' id mapping${store ? ` of ${store}` : ''} can't be had here: ${r.why}`, r.fix)
}

/**
 * The one place a command's mapping is decided (flag or STRATA_MAP, the
 * store's record, what this machine can do). `check: false` skips the walk
 * for foreign owners (the early start path: a wrong guess only wastes it).
 */
export function resolveMapping(home: Home, flag?: string, opts: {check?: boolean} = {}): Resolved {
  // --map (flag), else STRATA_MAP: the one place either is read
  let requested = flag ?? process.env.STRATA_MAP
  if (requested === '') requested = undefined
  if (requested !== undefined && requested !== 'auto' && requested !== 'single') throw usage(`unknown mapping '${requested}'`, 'use --map auto or --map single (or STRATA_MAP)')
  const can = idOptions()
  const recorded = recordedMapping(home)
  const here = (m: Mapping): IdMap | Refusal => can[m]
  if (requested) {
    const r = here(requested)
    if (!isIdMap(r)) throw refuse(requested, r)
    if (recorded && recorded !== requested) {
      // single → auto keeps every file's owner (0 is the user in both); auto → single only if no file has another owner
      if (requested === 'single' && opts.check !== false) {
        const foreign = foreignOwned(home)
        if (foreign)
          throw usage(`this store uses the 'auto' id mapping and holds files of other owners (${foreign}), which one id can't keep`, `drop --map/STRATA_MAP, or use another STRATA_HOME for a 'single' store`)
      }
      return {...r, record: true, note: `the store switches from the '${recorded}' to the '${requested}' id mapping`}
    }
    return {...r, record: !recorded}
  }
  if (recorded) {
    const r = here(recorded)
    if (isIdMap(r)) return {...r, record: false}
    if (recorded === 'auto') {
      const single = here('single')
      // a store that never held a foreign owner may switch; one that did can't be read with one id
      if (isIdMap(single) && (opts.check === false || !foreignOwned(home)))
        return {...single, record: true, note: `using a single-id mapping: ${r.why}; this store holds no file of another owner, so it switches to 'single'`}
    }
    throw refuse(recorded, r, 'this store')
  }
  const auto = here('auto')
  if (isIdMap(auto)) return {...auto, record: true}
  const single = here('single')
  if (!isIdMap(single)) throw refuse('single', single)
  // a user with a range who can't use it here is told once; one without a range expects a single mapping
  const hadRange = subordinateRange('/etc/subuid') !== null
  return {...single, record: true, note: hadRange ? `using a single-id mapping: ${(auto as Refusal).why} (files of other owners are squashed to you)` : undefined}
}

/** The first file under the store (objects aside: always the user's) whose owner or group isn't the user's, as a path, or null. */
export function foreignOwned(home: Home): string | null {
  if (!existsSync(home.root)) return null
  const uid = process.getuid!()
  const gid = process.getgid!()
  const walk = (dir: string): string | null => {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return null
    }
    for (const n of names) {
      const p = join(dir, n)
      if (p === home.objects) continue
      let st
      try {
        st = lstatSync(p)
      } catch {
        continue
      }
      if (st.uid !== uid || st.gid !== gid) return p
      if (st.isDirectory()) {
        const f = walk(p)
        if (f) return f
      }
    }
    return null
  }
  return walk(home.root)
}

/** Records the store's mapping in store.json (its one writer), keeping the file's other fields. */
export function recordMapping(home: Home, mapping: Mapping) {
  if (readStoreFile(home)?.mapping === mapping) return
  writeStoreFile(home, {mapping}) // store.json's one writer: the other fields (format) stay
}

/** The mapping of a store that must exist already (readers): as recorded, else what a new store would get. */
export function storeMapping(home: Home, requested?: string): Mapping {
  return resolveMapping(home, requested).mapping
}

/** The unshare flag that marks a namespace whose ids strata writes itself (see mapOwnRange). */
const OWN_RANGE = '--keep-caps'

/** util-linux unshare arguments for a user+mount namespace with this mapping (realized as this machine can). */
export function unshareArgs(m: Mapping | IdMap): string[] {
  const via = typeof m === 'string' ? (isIdMap(idOptions()[m]) ? (idOptions()[m] as IdMap).via : m === 'auto' ? 'newuidmap' : 'own-id') : m.via
  // own-range: no map from unshare; the process keeps its capabilities across exec (ambient) while its
  // parent, which holds the range, writes the map (mapOwnRange)
  const user = via === 'own-range' ? ['--user', OWN_RANGE] : via === 'newuidmap' ? ['--user', '--map-root-user', '--map-auto'] : ['--user', '--map-root-user']
  return [...user, '--mount', '--propagation', 'private']
}

/** Whether a launcher starts a namespace whose map its starter must write. */
export const launcherNeedsMap = (launcher: string[]) => launcher[0] === 'unshare' && launcher.includes(OWN_RANGE)

/**
 * For a namespace started with own-range args: waits until the child has its
 * new user namespace, then writes `0 0 1` and `1 1 N-1` (one `0 0 N` line is
 * refused) to its uid_map and gid_map. Resolves once written; rejects with why.
 */
export async function mapOwnRange(pid: number, exited: () => boolean): Promise<void> {
  const ours = readlinkSync('/proc/self/ns/user')
  const n = (idOptions().auto as IdMap).ids
  for (let i = 0; ; i++) {
    if (exited()) throw environment('the namespace ended before its ids were mapped')
    let theirs = ours
    try {
      theirs = readlinkSync(`/proc/${pid}/ns/user`)
    } catch {}
    if (theirs !== ours) break
    if (i > 5000) throw environment('unshare never entered its user namespace')
    await new Promise((r) => setTimeout(r, i < 50 ? 0 : 2))
  }
  const map = `0 0 1\n1 1 ${n - 1}\n`
  for (const f of ['uid_map', 'gid_map']) {
    try {
      writeFileSync(`/proc/${pid}/${f}`, map)
    } catch (e) {
      throw environment(`could not map this namespace's ${n} ids into a nested one (${f}: ${(e as NodeJS.ErrnoException).code})`, 'use the single-id mapping (--map single)')
    }
  }
}

/** In a process started with own-range args: waits (briefly) until its parent has written the map. */
export function awaitOwnMap() {
  const cell = new Int32Array(new SharedArrayBuffer(4))
  for (let i = 0; i < 5000 && readFileSync('/proc/self/uid_map', 'utf8').trim() === ''; i++) Atomics.wait(cell, 0, 0, 2)
}
