// `strata __complete WORDS...`: the completion engine the shell scripts in
// completions/ call on every TAB. It answers in cobra's protocol: one candidate a
// line (`value<TAB>description`), then `:N`, N the directive bitmask. It is on the
// keystroke path, so it never loads oclif or a command module: commands, flags,
// fixed value sets and descriptions come from oclif.manifest.json (plain JSON,
// written at build time), dynamic values from the store's directories.
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {packageRoot} from '../root.js'
import {Home} from '../store/home.js'
import {type Session, isRunning, sessionsDir} from '../runtime/session-state.js'
import {type ValueKind, valueKind} from './completion-values.js'
import {emit} from './emit.js'

export const Directive = {error: 1, noSpace: 2, noFile: 4, filterExt: 8, filterDirs: 16, keepOrder: 32} as const

export interface Candidate {value: string; description?: string}
export interface Answer {candidates: Candidate[]; directive: number}

interface ManifestFlag {name: string; char?: string; type: 'boolean' | 'option'; summary?: string; description?: string; options?: string[]; multiple?: boolean; hidden?: boolean}
interface ManifestArg {name: string; description?: string; options?: string[]}
interface ManifestCommand {id: string; summary?: string; description?: string; hidden?: boolean; aliases?: string[]; strict?: boolean; args: Record<string, ManifestArg>; flags: Record<string, ManifestFlag>}
export interface Spec {commands: Record<string, ManifestCommand>; topics: Record<string, {description?: string}>}

/** The command surface as the build recorded it. */
export function loadSpec(dir = packageRoot): Spec {
  const manifest = JSON.parse(readFileSync(join(dir, 'oclif.manifest.json'), 'utf8'))
  const pjson = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  return {commands: manifest.commands ?? {}, topics: pjson.oclif?.topics ?? {}}
}

// One line, no tabs: a description is shown beside a candidate.
const oneLine = (s?: string) => (s ?? '').split('\n')[0].replace(/\s+/g, ' ').trim()

// plain code-point order: localeCompare would load ICU's collator on the keystroke path
const byValue = (a: Candidate, b: Candidate) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)

const helpFlag: ManifestFlag = {name: 'help', type: 'boolean', description: 'show help for this command'}

export function complete(words: string[], spec: Spec, home = new Home()): Answer {
  const done = words.slice(0, -1)
  const cur = words.length ? words[words.length - 1] : ''
  const visible = Object.values(spec.commands).filter((c) => !c.hidden)
  const byId = new Map<string, ManifestCommand>()
  for (const c of visible) {
    byId.set(c.id, c)
    for (const a of c.aliases ?? []) byId.set(a.replace(/ /g, ':'), c)
  }
  const isTopic = (t: string) => visible.some((c) => c.id.startsWith(t + ':'))

  // The longest run of leading words that names a command.
  let cmd: ManifestCommand | undefined
  let k = 0
  for (let j = 1; j <= done.length && !done[j - 1].startsWith('-'); j++) {
    const id = done.slice(0, j).join(':')
    if (byId.has(id)) [cmd, k] = [byId.get(id), j]
    if (!isTopic(id)) break
  }

  if (!cmd) {
    const topic = done.join(':')
    if (done.some((w) => w.startsWith('-')) || (topic && !isTopic(topic))) return {candidates: [], directive: Directive.error}
    if (cur.startsWith('-')) {
      const flags = [{value: '--help', description: 'show help'}, ...(topic ? [] : [{value: '--version', description: 'show the version'}])]
      return {candidates: flags.filter((f) => f.value.startsWith(cur)), directive: Directive.noFile}
    }
    return {candidates: children(topic, visible, spec.topics).filter((c) => c.value.startsWith(cur)), directive: Directive.noFile}
  }
  return completeCommand(cmd, done.slice(k), cur, home)
}

/** Commands and topics one level below a topic ('' for the top). */
function children(topic: string, commands: ManifestCommand[], topics: Spec['topics']): Candidate[] {
  const prefix = topic ? topic + ':' : ''
  const seen = new Map<string, Candidate>()
  for (const c of commands) {
    if (!c.id.startsWith(prefix)) continue
    const [next, ...more] = c.id.slice(prefix.length).split(':')
    const id = prefix + next
    if (more.length === 0) seen.set(next, {value: next, description: oneLine(c.summary ?? c.description)})
    else if (!seen.has(next)) seen.set(next, {value: next, description: oneLine(topics[id]?.description) || `${id.replace(/:/g, ' ')} commands`})
  }
  return [...seen.values()].sort(byValue)
}

function completeCommand(cmd: ManifestCommand, rest: string[], cur: string, home: Home): Answer {
  const flags: Record<string, ManifestFlag> = {...cmd.flags, help: helpFlag}
  const byChar = new Map(Object.values(flags).filter((f) => f.char).map((f) => [f.char!, f]))
  const used = new Set<string>()
  let positional = 0
  let pending: ManifestFlag | undefined // a flag whose value is being typed
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]
    // `--`: what follows is another command's (`run STACK -- CMD`); the shell scripts hand it over
    if (w === '--') return {candidates: [], directive: Directive.noFile}
    let f: ManifestFlag | undefined
    let inline = false
    if (w.startsWith('--')) {
      f = flags[w.slice(2).split('=')[0]]
      inline = w.includes('=')
    } else if (w.startsWith('-') && w.length > 1) {
      f = byChar.get(w[1])
      inline = w.length > 2
    } else {
      positional++
      continue
    }
    if (!f) continue
    used.add(f.name)
    if (f.type !== 'option' || inline) continue
    if (rest[i + 1] === '=') i++ // bash splits `--flag=value` at '='
    if (i + 1 >= rest.length) pending = f
    else i++
  }

  if (pending) return flagValues(cmd, pending, cur, '', home)
  if (cur.startsWith('--') && cur.includes('=')) {
    const name = cur.slice(2, cur.indexOf('='))
    const f = flags[name]
    if (!f || f.type !== 'option') return {candidates: [], directive: Directive.noFile}
    return flagValues(cmd, f, cur.slice(name.length + 3), `--${name}=`, home)
  }
  if (cur.startsWith('-')) {
    const out: Candidate[] = []
    for (const f of Object.values(flags)) {
      if (f.hidden || (used.has(f.name) && !f.multiple)) continue
      const description = oneLine(f.summary ?? f.description)
      out.push({value: `--${f.name}`, description})
      if (f.char && cur === '-') out.push({value: `-${f.char}`, description})
    }
    return {candidates: out.filter((c) => c.value.startsWith(cur)).sort(byValue), directive: Directive.noFile}
  }
  const args = Object.values(cmd.args ?? {})
  const arg = args[positional] ?? (cmd.strict === false ? args[args.length - 1] : undefined)
  if (!arg) return {candidates: [], directive: Directive.noFile}
  if (arg.options) return fixed(arg.options, cur, '')
  return values(valueKind(cmd.id, arg.name), cur, '', home)
}

function flagValues(cmd: ManifestCommand, f: ManifestFlag, cur: string, prefix: string, home: Home): Answer {
  if (f.options) return fixed(f.options, cur, prefix)
  return values(valueKind(cmd.id, `--${f.name}`), cur, prefix, home)
}

function fixed(options: string[], cur: string, prefix: string): Answer {
  return {candidates: options.filter((o) => o.startsWith(cur)).map((o) => ({value: prefix + o})), directive: Directive.noFile}
}

function values(kind: ValueKind, cur: string, prefix: string, home: Home): Answer {
  let found: Candidate[]
  switch (kind) {
    case 'file':
      return {candidates: [], directive: 0} // the shell completes paths
    case 'dir':
      return {candidates: [], directive: Directive.filterDirs}
    case 'none':
      return {candidates: [], directive: Directive.noFile}
    case 'stack':
      found = stacks(home, cur)
      break
    case 'layer':
      found = layers(home, cur)
      break
    case 'mounted':
      found = mounted(home, cur)
      break
  }
  return {candidates: found.map((c) => ({...c, value: prefix + c.value})), directive: Directive.noFile}
}

const readJSON = (file: string) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}
const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])

// Every directory under stacks/ is a stack: stacks are published and removed by
// rename through tmp/. Reading each stack.json would cost a file a stack per TAB.
function stacks(home: Home, cur: string): Candidate[] {
  let entries
  try {
    entries = readdirSync(home.stacks, {withFileTypes: true})
  } catch {
    return []
  }
  return entries
    .filter((e) => e.isDirectory() && e.name.startsWith(cur))
    .map((e) => ({value: e.name, description: 'stack'}))
    .sort(byValue)
}

/** Layer names, and short ids when the word could be an id prefix (or the layer has no name). */
function layers(home: Home, cur: string): Candidate[] {
  const all: {id: string; names: string[]}[] = []
  for (const id of list(home.layers)) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue
    const l = readJSON(join(home.layer(id), 'layer.json'))
    if (l) all.push({id, names: Array.isArray(l.names) ? l.names : []})
  }
  const hex = /^[0-9a-f]+$/.test(cur)
  const out: Candidate[] = []
  for (const l of all) {
    for (const n of l.names) if (n.startsWith(cur)) out.push({value: n, description: `layer ${l.id.slice(0, 12)}`})
    if (!l.id.startsWith(cur) || !(hex || l.names.length === 0)) continue
    // twelve characters name a layer unless another layer shares them
    const short = all.some((o) => o.id !== l.id && o.id.startsWith(l.id.slice(0, 12))) ? l.id : l.id.slice(0, 12)
    out.push({value: short, description: l.names.length ? `layer ${l.names.join(', ')}` : 'layer (no name)'})
  }
  return out.sort(byValue)
}

/** Stacks of this store with a session whose holder is still the process it was. */
function mounted(home: Home, cur: string): Candidate[] {
  const dir = sessionsDir(home)
  const out: Candidate[] = []
  for (const f of list(dir)) {
    if (!f.endsWith('.json')) continue
    const s = readJSON(join(dir, f)) as Session | undefined
    if (!s || typeof s.stack !== 'string' || !isRunning(s) || !s.stack.startsWith(cur)) continue
    out.push({value: s.stack, description: `mounted, holder pid ${s.pid}`})
  }
  return out.sort(byValue)
}

export function render(a: Answer): string {
  const lines = a.candidates.map((c) => (c.description ? `${c.value}\t${c.description}` : c.value))
  return [...lines, `:${a.directive}`].join('\n') + '\n'
}

/** bin/run.js's entry for `strata __complete WORDS...`; never throws at the shell. */
export async function main(words: string[]): Promise<void> {
  let answer: Answer
  try {
    answer = complete(words, loadSpec())
  } catch (e) {
    if (process.env.DEBUG) process.stderr.write(`strata __complete: ${(e as Error).stack}\n`)
    answer = {candidates: [], directive: Directive.error}
  }
  emit(1, render(answer))
}
