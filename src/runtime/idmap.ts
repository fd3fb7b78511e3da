// How the store's files map to ids: with a subordinate range (/etc/subuid and
// /etc/subgid, the podman setup) namespaces map 0→the user and 1…N→the range;
// without one, a single id, and foreign owners are squashed to the user.
import {existsSync, readFileSync, writeFileSync, renameSync} from 'node:fs'
import {userInfo} from 'node:os'
import type {Home} from '../store/home.js'
import {environment, usage} from '../errors.js'

export type Mapping = 'auto' | 'single'

export interface Range {start: number; count: number}

/** The first range /etc/subuid (or subgid) gives this user, by name or id. */
export function subordinateRange(file: string, name = userInfo().username, id = process.getuid!()): Range | null {
  if (!existsSync(file)) return null
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [who, start, count] = line.trim().split(':')
    if ((who === name || who === String(id)) && Number(count) > 0) return {start: Number(start), count: Number(count)}
  }
  return null
}

const hasNewIdMap = () => existsSync('/usr/bin/newuidmap') && existsSync('/usr/bin/newgidmap')

export function detectMapping(): Mapping {
  return subordinateRange('/etc/subuid') && subordinateRange('/etc/subgid', undefined, process.getgid!()) && hasNewIdMap() ? 'auto' : 'single'
}

interface StoreFile {version: 1; mapping: Mapping}

/** The store's mapping: recorded on first use, then held to (files' owners depend on it). */
export function storeMapping(home: Home, requested?: Mapping): Mapping {
  if (requested && requested !== 'auto' && requested !== 'single') throw usage(`unknown mapping '${requested}'`, 'use --map auto or --map single')
  let recorded: Mapping | undefined
  if (existsSync(home.storeFile)) recorded = (JSON.parse(readFileSync(home.storeFile, 'utf8')) as StoreFile).mapping
  const mapping = recorded ?? requested ?? detectMapping()
  if (requested && recorded && requested !== recorded)
    throw usage(`this store uses the '${recorded}' id mapping, not '${requested}'`, `drop --map, or use another STRATA_HOME for a '${requested}' store`)
  if (mapping === 'auto' && !(subordinateRange('/etc/subuid') && hasNewIdMap()))
    throw environment(
      `this store needs a subordinate id range, and ${userInfo().username} has none in /etc/subuid (or newuidmap is missing)`,
      'add a range (usermod --add-subuids 100000-165535 USER), install uidmap, or use another STRATA_HOME',
    )
  if (!recorded) {
    home.ensure()
    const tmp = `${home.storeFile}.${process.pid}`
    writeFileSync(tmp, JSON.stringify({version: 1, mapping} satisfies StoreFile, null, 2) + '\n')
    renameSync(tmp, home.storeFile)
  }
  return mapping
}

/** The store's mapping as this command asks for it: --map (flag), else STRATA_MAP, else the store's own (the one place either is read). */
export function resolveMapping(home: Home, flag?: string): Mapping {
  return storeMapping(home, (flag ?? process.env.STRATA_MAP) as Mapping | undefined)
}

/** util-linux unshare arguments for a user+mount namespace with this mapping. */
export function unshareArgs(mapping: Mapping): string[] {
  return ['--user', '--map-root-user', ...(mapping === 'auto' ? ['--map-auto'] : []), '--mount', '--propagation', 'private']
}
