// What the listing commands show: their --json document and their table,
// computed once for the oclif command and for the fast path (fast.ts), so the
// two can't drift apart.
import type {Home} from '../store/home.js'
import {StackStore, type StackInfo} from '../stack/stacks.js'
import {LayerStore, type LayerInfo} from '../layer/layers.js'
import {Sessions, noHostPath, type Session, type SessionState} from '../runtime/session.js'
import {table} from './table.js'
import {bytes} from '../progress.js'

export interface View<T> {json: T; text: string; warnings?: string[]}

export function stackList(home: Home): View<{stacks: StackInfo[]}> {
  const stacks = new StackStore(home.requireReadable()).list()
  const layers = new LayerStore(home)
  const label = (id: string) => (layers.has(id) ? layers.get(id).names[0] : undefined) ?? id.slice(0, 12)
  return {json: {stacks}, text: table(['NAME', 'LAYERS (top first)', 'CREATED'], stacks.map((s) => [s.name, s.layers.map(label).join(' '), s.created]))}
}

export function layerList(home: Home): View<{layers: LayerInfo[]}> {
  const layers = new LayerStore(home.requireReadable()).list()
  return {
    json: {layers},
    text: table(['ID', 'NAMES', 'ENTRIES', 'SIZE', 'SOURCE'], layers.map((l) => [l.id.slice(0, 12), l.names.join(',') || '-', String(l.counts.entries), bytes(l.bytes.content), l.source.path])),
  }
}

/** A session as ps lists it; `path` is null where the host has no way in (rootPath). */
export type SessionRow = Session & {state: SessionState; path: string | null}

export function sessionList(home: Home): View<{sessions: SessionRow[]}> {
  const sessions = new Sessions(home)
  const rows = sessions.list().map((s) => ({...s, path: sessions.path(s)}))
  return {
    json: {sessions: rows},
    text: table(['STACK', 'PID', 'BACKEND', 'SINCE', 'STATE', 'MOUNTPOINT', 'KIND'], rows.map((s) => [s.stack, String(s.pid), s.backend, s.since, s.state, s.mountpoint, s.root ? 'root' : 'mount'])),
    warnings: rows
      .filter((r) => r.state === 'stale')
      .map((s) => `the session of '${s.stack}' is stale (holder ${s.pid} is gone) — \`strata umount ${s.stack}\` or the next \`strata mount ${s.stack}\` cleans it up`),
  }
}

export async function sessionPath(home: Home, stack: string): Promise<View<{stack: string; pid: number; path: string}>> {
  const sessions = new Sessions(home)
  const s = await sessions.require(stack)
  const path = sessions.path(s)
  if (path === null) throw noHostPath(s)
  return {json: {stack: s.stack, pid: s.pid, path}, text: path}
}
